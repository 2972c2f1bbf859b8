package io.mailbridge.pop3.record;

/** The reasons a message could not be decoded as declared; they become {@code parse_error}. */
final class ParseProblems {

    private static final int MAX_LENGTH = 500;

    private StringBuilder reasons;

    void add(String reason) {
        if (reasons == null) {
            reasons = new StringBuilder(reason);
        } else if (reasons.indexOf(reason) < 0 && reasons.length() < MAX_LENGTH) {
            reasons.append("; ").append(reason);
        }
    }

    /** Null when nothing went wrong, else the distinct reasons in the order they were met. */
    String summary() {
        return reasons == null ? null : reasons.toString();
    }
}
