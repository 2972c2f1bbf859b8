package io.mailbridge.pop3.client;

import java.io.IOException;
import java.io.InputStream;

/** Receives the messages that {@link Pop3Client#retrieve} and {@link Pop3Client#top} stream. */
@FunctionalInterface
public interface MessageConsumer {

    /**
     * Called once per message, in the order requested.
     *
     * @param number the message number
     * @param body   the message as the server sent it, dot-unstuffing undone, CRLF line ends kept,
     *               terminator consumed. Valid only until this method returns; what is left
     *               unread is skipped by the client. Closing it is allowed and does nothing.
     */
    void accept(int number, InputStream body) throws IOException;

    /**
     * Called instead of {@link #accept} when the server answered the command for this
     * message with -ERR. The default rethrows, which ends the retrieval; return normally to
     * go on with the next message.
     */
    default void failed(int number, Pop3Exception error) throws IOException {
        throw error;
    }
}
