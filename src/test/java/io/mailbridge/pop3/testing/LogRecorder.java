package io.mailbridge.pop3.testing;

import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.Property;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * Captures the log events of this JVM (the in-process Connect worker included) through a log4j2 appender added
 * programmatically, optionally raising some loggers' levels while it is open. {@link #close()} restores the
 * configuration as it was (so the tests go back to logging at WARN on the console).
 *
 * <p>Raised loggers log to the capture only; their WARN and higher events still reach the console appender, so
 * CI output stays as readable as before. Events are copied to strings as they arrive (message, stack traces with
 * causes and suppressed exceptions, MDC), so nothing depends on log4j reusing event objects.
 *
 * <pre>{@code
 * try (LogRecorder logs = LogRecorder.start(Map.of("io.mailbridge", Level.DEBUG))) {
 *     ...
 *     assertFalse(logs.anyContains(secret));
 * }
 * }</pre>
 */
public final class LogRecorder implements AutoCloseable {

    /** One captured event, already rendered to text. */
    public record Event(long timeMillis, String level, String logger, String thread, String message,
                        String thrown, Map<String, String> context) {

        public boolean atLeast(Level threshold) {
            return Level.toLevel(level).isMoreSpecificThan(threshold);
        }

        /** Everything the event carries, for scanning. */
        public String text() {
            return level + " " + logger + " [" + thread + "] " + context + " " + message
                    + (thrown == null ? "" : "\n" + thrown);
        }
    }

    private static final String CONSOLE = "console";

    private final LoggerContext context;
    private final Appender appender;
    private final List<Event> events = new CopyOnWriteArrayList<>();
    private final Map<String, LoggerConfig> replaced = new LinkedHashMap<>();
    private final List<String> added = new ArrayList<>();
    private boolean closed;

    private LogRecorder(Map<String, Level> levels) {
        context = (LoggerContext) LogManager.getContext(false);
        Configuration config = context.getConfiguration();
        appender = new AbstractAppender("mailbridge-test-capture-" + System.nanoTime(), null, null, true,
                Property.EMPTY_ARRAY) {
            @Override
            public void append(LogEvent event) {
                events.add(render(event));
            }
        };
        appender.start();
        config.addAppender(appender);
        Appender console = config.getAppender(CONSOLE);
        for (Map.Entry<String, Level> e : levels.entrySet()) {
            String name = e.getKey();
            LoggerConfig existing = config.getLoggers().get(name);
            if (existing != null) {
                replaced.put(name, existing);
                config.removeLogger(name);
            }
            LoggerConfig raised = LoggerConfig.newBuilder()
                    .withLoggerName(name)
                    .withLevel(e.getValue())
                    .withAdditivity(false)
                    .withConfig(config)
                    .build();
            raised.addAppender(appender, Level.ALL, null);
            if (console != null) {
                raised.addAppender(console, Level.WARN, null);
            }
            config.addLogger(name, raised);
            added.add(name);
        }
        config.getRootLogger().addAppender(appender, Level.ALL, null);
        for (LoggerConfig lc : config.getLoggers().values()) {
            if (!added.contains(lc.getName()) && !lc.getName().isEmpty() && !lc.isAdditive()) {
                lc.addAppender(appender, Level.ALL, null);
            }
        }
        context.updateLoggers();
    }

    /** Captures every event at the configured levels, raising the given loggers' levels meanwhile. */
    public static LogRecorder start(Map<String, Level> levels) {
        return new LogRecorder(levels);
    }

    /** Captures what the current configuration logs (WARN and up, in the tests). */
    public static LogRecorder start() {
        return new LogRecorder(Map.of());
    }

    public List<Event> events() {
        return List.copyOf(events);
    }

    public List<Event> events(Predicate<Event> filter) {
        List<Event> out = new ArrayList<>();
        for (Event e : events) {
            if (filter.test(e)) {
                out.add(e);
            }
        }
        return out;
    }

    /** Events whose text contains {@code needle}. */
    public List<Event> containing(String needle) {
        return events(e -> e.text().contains(needle));
    }

    public boolean anyContains(String needle) {
        return !containing(needle).isEmpty();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        Configuration config = context.getConfiguration();
        for (String name : added) {
            config.removeLogger(name);
        }
        for (Map.Entry<String, LoggerConfig> e : replaced.entrySet()) {
            config.addLogger(e.getKey(), e.getValue());
        }
        config.getRootLogger().removeAppender(appender.getName());
        for (LoggerConfig lc : config.getLoggers().values()) {
            lc.removeAppender(appender.getName());
        }
        context.updateLoggers();
        appender.stop();
    }

    private static Event render(LogEvent event) {
        String thrown = null;
        if (event.getThrown() != null) {
            StringWriter sw = new StringWriter();
            event.getThrown().printStackTrace(new PrintWriter(sw));
            thrown = sw.toString();
        }
        Map<String, String> ctx = new LinkedHashMap<>();
        if (event.getContextData() != null) {
            event.getContextData().forEach((k, v) -> ctx.put(k, String.valueOf(v)));
        }
        return new Event(event.getTimeMillis(), event.getLevel().name(), event.getLoggerName(),
                event.getThreadName(), event.getMessage() == null ? "" : event.getMessage().getFormattedMessage(),
                thrown, ctx);
    }
}
