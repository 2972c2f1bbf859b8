package io.mailbridge.pop3.client;

/**
 * One line of a UIDL listing.
 *
 * @param number the message number in this session
 * @param uid    the unique-id: 1 to 70 characters in 0x21-0x7E (RFC 1939)
 */
public record UidlEntry(int number, String uid) {
}
