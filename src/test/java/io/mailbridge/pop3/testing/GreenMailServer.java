package io.mailbridge.pop3.testing;

import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;

import java.io.ByteArrayInputStream;
import java.util.Properties;

/** GreenMail's POP3 server in-process on a free loopback port, fast to start and to fill. */
public final class GreenMailServer implements AutoCloseable {

    private static final Session SESSION = Session.getInstance(new Properties());

    private final GreenMail greenMail;

    public GreenMailServer() {
        greenMail = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_POP3).dynamicPort());
        greenMail.start();
    }

    public int port() {
        return greenMail.getPop3().getPort();
    }

    public GreenMailUser user(String login, String password) {
        return greenMail.setUser(login + "@localhost", login, password);
    }

    public void deliver(GreenMailUser user, byte[] rfc822) {
        try {
            user.deliver(new MimeMessage(SESSION, new ByteArrayInputStream(rfc822)));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public int count(GreenMailUser user) {
        try {
            return greenMail.getManagers().getImapHostManager().getInbox(user).getMessageCount();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public GreenMail greenMail() {
        return greenMail;
    }

    @Override
    public void close() {
        greenMail.stop();
    }
}
