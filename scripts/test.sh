#!/usr/bin/env bash
# Runs every test: unit tests, then integration tests on a real KRaft broker + Connect worker against GreenMail
# and Dovecot. Installs Dovecot first when it is missing (needs root and apt, as on Debian/Ubuntu machines).
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

exec mvn -B -ntp verify "$@"
