#!/usr/bin/env bash
# Runs every test: unit tests, then integration tests on a real KRaft broker + Connect worker against GreenMail
# and Dovecot. Installs Dovecot and docker-compose first when they are missing (needs root and apt, as on
# Debian/Ubuntu machines). docker-compose only validates docker/docker-compose.yml (`docker-compose config`,
# offline, no Docker daemon): ComposeDemoTest.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Dovecot (dovecot-core, dovecot-pop3d) for the integration tests..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-core dovecot-pop3d >/dev/null
  else
    echo "Dovecot is not installed; run: sudo apt-get install -y dovecot-core dovecot-pop3d" >&2
    echo "(the Dovecot integration tests fail without it; they are never skipped)" >&2
  fi
fi

if ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing docker-compose (validation of docker/docker-compose.yml only; no daemon is started)..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
  else
    echo "docker-compose is not installed; run: sudo apt-get install -y --no-install-recommends docker-compose" >&2
    echo "(ComposeDemoTest fails without it; it is never skipped)" >&2
  fi
fi

exec mvn -B -ntp verify "$@"
