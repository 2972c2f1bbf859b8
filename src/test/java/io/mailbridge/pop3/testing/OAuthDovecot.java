package io.mailbridge.pop3.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * A {@link DovecotServer} whose POP3 logins also take OAuth 2 bearer tokens (SASL XOAUTH2 and OAUTHBEARER),
 * checked by Dovecot's {@code oauth2} passdb against the introspection endpoint of an {@link OAuthTokenServer}, so
 * a token is good exactly as long as the token server says.
 */
public final class OAuthDovecot {

    private OAuthDovecot() {
    }

    /**
     * Starts Dovecot with the given users; their passwords are random (only tokens log them in). The oauth2
     * settings file lives in {@code configDir}, which must stay until the server stops.
     */
    public static DovecotServer start(OAuthTokenServer tokens, Path configDir, List<String> users) {
        DovecotServer.requireInstalled();
        DovecotServer.Builder builder = DovecotServer.builder();
        configure(builder, tokens, configDir);
        for (String user : users) {
            builder.user(user, "unused-" + Long.toHexString(Double.doubleToLongBits(Math.random())));
        }
        return builder.build().start();
    }

    /**
     * Adds SASL XOAUTH2 and OAUTHBEARER to a Dovecot about to be built, with tokens checked by {@code tokens}; the
     * oauth2 settings file is written to {@code configDir}, which must stay until the server stops.
     */
    public static void configure(DovecotServer.Builder builder, OAuthTokenServer tokens, Path configDir) {
        Path conf = configDir.resolve("dovecot-oauth2.conf.ext");
        try {
            Files.writeString(conf, String.join("\n",
                    "introspection_mode = post",
                    "introspection_url = " + tokens.introspectionUrl(),
                    "force_introspection = yes",
                    "username_attribute = username",
                    "active_attribute = active",
                    "active_value = true",
                    "timeout_msecs = 5000",
                    ""), StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(conf, PosixFilePermissions.fromString("rw-r--r--"));
            Files.setPosixFilePermissions(configDir, PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        builder.extraConfig("auth_mechanisms = plain login xoauth2 oauthbearer")
                .extraConfig("passdb {")
                .extraConfig("  driver = oauth2")
                .extraConfig("  mechanisms = xoauth2 oauthbearer")
                .extraConfig("  args = " + conf)
                .extraConfig("}");
    }
}
