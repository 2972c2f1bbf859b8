package io.mailbridge.pop3.mailbox;

import org.apache.kafka.connect.errors.ConnectException;

/**
 * A mailbox could not be polled. {@link #userMustFix()} separates what retrying cannot cure (wrong password,
 * untrusted certificate, no UIDL, an oversized mail with {@code oversize.policy=fail}) from what may pass (server
 * down, {@code [IN-USE]}, {@code [SYS/TEMP]}, a timeout). The message always names the mailbox.
 */
public final class MailboxFailure extends ConnectException {

    private final String mailboxId;
    private final boolean userMustFix;

    public MailboxFailure(String mailboxId, boolean userMustFix, String message, Throwable cause) {
        super(message, cause);
        this.mailboxId = mailboxId;
        this.userMustFix = userMustFix;
    }

    public String mailboxId() {
        return mailboxId;
    }

    public boolean userMustFix() {
        return userMustFix;
    }

    /** Whether {@code e} or one of its causes is a {@code type}. */
    static boolean causedBy(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }
}
