package io.mailbridge.pop3.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.mailbridge.pop3.testing.DovecotServer;
import io.mailbridge.pop3.testing.LatencyProxy;
import io.mailbridge.pop3.testing.WorkerProcess;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;

import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;

/**
 * The "scale10k" rows of the benchmark (issue 10): one connector of 10,000 mailboxes with one mail each, in the
 * plain config form ({@code mailboxes} plus one {@code mailbox.<alias>.pop3.username} each, about 600 KB),
 * {@code tasks.max=6}, on one worker process started with {@code -Xmx768m} and the plugin zip, against a Dovecot
 * holding the 10,000 users on loopback, and again through a 50 ms round-trip delay line.
 *
 * <p>Measured per run: the PUT of the config; how long after it all six tasks are RUNNING; the time from the PUT
 * until the topic holds all 10,000 records; whether the worker met an OutOfMemoryError; the peak heap (sampled
 * every 10 ms over JMX); and the heap per idle mailbox: the used heap after a full GC once every mailbox is idle
 * (all offsets committed, no session open), minus the same before the connector was created, over 10,000; and,
 * from a second run of the same form with 1,000 mailboxes on a fresh worker, what each further idle mailbox adds
 * ((idle heap at 10,000 - idle heap at 1,000) / 9,000), which leaves out what a worker holds per task whatever its
 * mailboxes (six producers, 48 session threads' buffers). The loopback runs are repeated with the mailbox
 * definitions in a file named by {@code mailboxes.source}, the connector config then being a few hundred bytes.
 *
 * <pre>mvn -Pbenchmark -DskipTests package -Dexec.args="--only=scale10k"</pre>
 */
final class Scale10kBenchmark {

    static final String NAME = "scale10k";
    private static final int MAILBOXES = 10_000;
    private static final int TASKS = 6;
    private static final String PASSWORD = "bench-pw";
    private static final Duration PUBLISH_TIMEOUT = Duration.ofMinutes(5);

    /** One run's figures. */
    record Result(String variant, double putSeconds, double runningSeconds, double publishSeconds, long published,
                  long peakHeapBytes, long idleHeapBytes, double heapPerIdleMailbox, double marginalPerMailbox,
                  boolean oom, String note) {

        /**
         * With the idle heap of the same run at fewer mailboxes: what each further mailbox adds, without what the
         * worker holds per task whatever its mailboxes (producers, session threads' buffers, task metrics).
         */
        Result withMarginal(Result fewer, int moreMailboxes) {
            double marginal = (double) (idleHeapBytes - fewer.idleHeapBytes) / moreMailboxes;
            return new Result(variant, putSeconds, runningSeconds, publishSeconds, published, peakHeapBytes,
                    idleHeapBytes, heapPerIdleMailbox, marginal, oom, note + String.format(Locale.ROOT,
                    "; idle heap %d MB at %d mailboxes, %d MB at %d", idleHeapBytes >> 20, published,
                    fewer.idleHeapBytes >> 20, fewer.published));
        }
    }

    private final String bootstrapServers;
    private final Admin admin;
    private final int mailboxes;
    private final List<Result> results = new ArrayList<>();

    Scale10kBenchmark(String bootstrapServers, Admin admin, Integer count) {
        this.bootstrapServers = bootstrapServers;
        this.admin = admin;
        this.mailboxes = count == null ? MAILBOXES : count;
    }

    static String user(int i) {
        return String.format("u%05d", i);
    }

    List<Result> run() throws Exception {
        log("== " + NAME + ": " + mailboxes + " mailboxes x 1 mail, tasks.max=" + TASKS + ", one worker at -Xmx768m");
        long t = System.nanoTime();
        DovecotServer.Builder builder = DovecotServer.builder();
        for (int i = 0; i < mailboxes; i++) {
            builder.user(user(i), PASSWORD);
        }
        // 6 tasks x 8 sessions at once, plus the live check: well within these, but Dovecot's defaults (100
        // processes per service, one login process per connection) make 10,000 logins crawl.
        builder.manyLogins();
        try (DovecotServer dovecot = builder.build().start()) {
            for (int i = 0; i < mailboxes; i++) {
                dovecot.deliver(user(i), BenchMails.text(i, 4096));
            }
            log(String.format(Locale.ROOT, "Dovecot with %d users, one 4 KB mail each, ready in %.1f s", mailboxes,
                    secondsSince(t)));
            Path dir = Files.createTempDirectory("mailbridge-bench-10k-");
            Path pluginPath = WorkerProcess.installPlugin(dir);
            Path source = dir.resolve("mailboxes.properties");
            int reference = Math.max(1, mailboxes / 10);
            Result plain = once("loopback", dovecot.host(), dovecot.plainPort(), dir, pluginPath, null, mailboxes);
            Result plainRef = once("loopback", dovecot.host(), dovecot.plainPort(), dir, pluginPath, null, reference);
            results.add(plain.withMarginal(plainRef, mailboxes - reference));
            Result src = once("loopback, mailboxes.source", dovecot.host(), dovecot.plainPort(), dir, pluginPath,
                    source, mailboxes);
            Result srcRef = once("loopback, mailboxes.source", dovecot.host(), dovecot.plainPort(), dir, pluginPath,
                    source, reference);
            results.add(src.withMarginal(srcRef, mailboxes - reference));
            try (LatencyProxy wan = new LatencyProxy(dovecot.host(), dovecot.plainPort(), 25)) {
                results.add(once("50 ms RTT", "127.0.0.1", wan.port(), dir, pluginPath, null, mailboxes));
            }
        }
        print();
        return results;
    }

    /**
     * The connector config: the plain form, or with {@code source} set the same definitions written to that file
     * and named by {@code mailboxes.source}.
     */
    private Map<String, String> config(String topic, String host, int port, Path source, int count)
            throws Exception {
        Map<String, String> plain = plainConfig(topic, host, port, count);
        if (source == null) {
            return plain;
        }
        StringBuilder file = new StringBuilder();
        Map<String, String> config = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : plain.entrySet()) {
            if (e.getKey().startsWith("mailbox.")) {
                file.append(e.getKey()).append('=').append(e.getValue()).append('\n');
            } else if (!e.getKey().equals("mailboxes")) {
                config.put(e.getKey(), e.getValue());
            }
        }
        Files.writeString(source, file.toString());
        config.put("mailboxes.source", source.toString());
        return config;
    }

    private Map<String, String> plainConfig(String topic, String host, int port, int count) {
        Map<String, String> config = new LinkedHashMap<>();
        config.put("connector.class", "io.mailbridge.pop3.Pop3SourceConnector");
        config.put("tasks.max", String.valueOf(TASKS));
        config.put("topic", topic);
        config.put("pop3.host", host);
        config.put("pop3.port", String.valueOf(port));
        config.put("pop3.security", "none");
        config.put("pop3.password", PASSWORD);
        // a mailbox is polled every 5 minutes once it is empty: 10,000 mailboxes make 33 sessions a second
        config.put("poll.interval.ms", "300000");
        StringJoiner aliases = new StringJoiner(",");
        for (int i = 0; i < count; i++) {
            aliases.add("m" + user(i));
        }
        config.put("mailboxes", aliases.toString());
        for (int i = 0; i < count; i++) {
            config.put("mailbox.m" + user(i) + ".pop3.username", user(i));
        }
        return config;
    }

    private Result once(String variant, String host, int port, Path dir, Path pluginPath, Path source, int count)
            throws Exception {
        String slug = (variant.startsWith("loop") ? "lo" : "wan") + (source == null ? "" : "-src") + "-" + count;
        Path gcLog = dir.resolve("gc-" + slug + ".log");
        List<String> jvm = List.of("-Xmx768m", "-Xlog:gc:file=" + gcLog + ":uptime,level,tags",
                "-XX:+ExitOnOutOfMemoryError");
        String topic = "bench-10k-" + slug + "-" + System.nanoTime();
        admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        TopicPartition tp = new TopicPartition(topic, 0);
        try (WorkerProcess worker = WorkerProcess.start(dir.resolve("worker-" + slug), bootstrapServers, pluginPath,
                "bench-10k-" + slug, Map.of(), jvm);
             HeapSampler sampler = new HeapSampler(worker.pid(), 10)) {
            long baseline = sampler.usedAfterFullGc();
            sampler.reset();
            Map<String, String> config = config(topic, host, port, source, count);
            String name = "scale10k-" + slug;
            long start = System.nanoTime();
            worker.putConnector(name, config);
            double put = secondsSince(start);
            long afterPut = System.nanoTime();
            double running = Double.NaN;
            double published = Double.NaN;
            long n = 0;
            long deadline = start + PUBLISH_TIMEOUT.toNanos();
            while (System.nanoTime() < deadline && worker.isAlive()) {
                if (Double.isNaN(running) && allTasksRunning(worker.status(name))) {
                    running = secondsSince(afterPut);
                    log(String.format(Locale.ROOT, "%s: all %d tasks RUNNING %.1f s after the PUT", variant, TASKS,
                            running));
                }
                n = admin.listOffsets(Map.of(tp, OffsetSpec.latest())).partitionResult(tp).get().offset();
                if (n >= count) {
                    published = secondsSince(start);
                    break;
                }
                Thread.sleep(50);
            }
            log(String.format(Locale.ROOT, "%s: %d of %d mails published, %.1f s after the PUT", variant, n,
                    count, published));
            String idleNote = awaitIdle(worker, sampler.server(), name, count, Duration.ofMinutes(2));
            long peak = sampler.sampledPeak();
            long idle = sampler.usedAfterFullGc();
            double perMailbox = (double) (idle - baseline) / count;
            log(String.format(Locale.ROOT, "%s, %d mailboxes: heap after full GC %d MB idle with the connector, %d MB"
                    + " before it: %.0f bytes per idle mailbox; peak heap %d MB", variant, count, idle >> 20, baseline >> 20,
                    perMailbox, peak >> 20));
            if (count == mailboxes) {
                histogram(worker.pid(), 25);
            }
            boolean oom = worker.logText().contains("OutOfMemoryError") || !worker.isAlive();
            String note = String.format(Locale.ROOT, "PUT body %d KB; %s", jsonSize(config) / 1024,
                    idleNote);
            worker.request("DELETE", "/connectors/" + name, null);
            return new Result(variant, put, running, published, n, peak, idle - baseline, perMailbox, Double.NaN,
                    oom, note);
        }
    }

    private static boolean allTasksRunning(JsonNode status) {
        if (status == null || !"RUNNING".equals(status.path("connector").path("state").asText())
                || status.path("tasks").size() != TASKS) {
            return false;
        }
        for (JsonNode task : status.path("tasks")) {
            if (!"RUNNING".equals(task.path("state").asText())) {
                return false;
            }
        }
        return true;
    }

    /**
     * Waits until every mailbox is idle: its offset committed, and no session open in any task (the task totals of
     * the plugin metrics). Returns what was seen.
     */
    private String awaitIdle(WorkerProcess worker, MBeanServerConnection jmx, String name, int count,
                             Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        int committed = 0;
        long open = -1;
        while (System.nanoTime() < deadline) {
            committed = worker.committedOffsets(name).size();
            open = taskTotal(jmx, "sessions-open");
            if (committed >= count && open == 0) {
                return "idle: " + committed + " offsets committed, no session open";
            }
            Thread.sleep(500);
        }
        return "NOT idle after " + timeout.toSeconds() + " s: " + committed + " offsets committed, " + open
                + " sessions open";
    }

    /** The sum over the tasks of a task-total plugin metric (no mailbox tag); -1 when none is registered. */
    private static long taskTotal(MBeanServerConnection jmx, String attribute) throws Exception {
        Set<ObjectName> names = jmx.queryNames(new ObjectName("kafka.connect:type=plugins,*"), null);
        long sum = 0;
        boolean found = false;
        for (ObjectName n : names) {
            if (n.getKeyProperty("mailbox") != null) {
                continue;
            }
            try {
                Object v = jmx.getAttribute(n, attribute);
                if (v instanceof Number number) {
                    sum += number.longValue();
                    found = true;
                }
            } catch (javax.management.AttributeNotFoundException e) {
                // another plugin's metrics
            }
        }
        return found ? sum : -1;
    }

    private static void histogram(long pid, int top) {
        try {
            Process p = new ProcessBuilder("jcmd", String.valueOf(pid), "GC.class_histogram")
                    .redirectErrorStream(true).start();
            List<String> lines = new String(p.getInputStream().readAllBytes()).lines().toList();
            p.waitFor();
            log("class histogram of the idle worker (top " + top + "):");
            lines.stream().skip(1).limit(top + 2L).forEach(l -> System.out.println("    " + l));
        } catch (Exception e) {
            log("no class histogram: " + e);
        }
    }

    private void print() {
        System.out.println();
        System.out.println("| scale10k run | PUT (<= 10 s) | all tasks RUNNING after PUT (<= 30 s) | 10,000 published"
                + " after PUT (<= 120 s) | OutOfMemoryError | peak heap (-Xmx768m) | idle heap / mailboxes"
                + " | heap per further idle mailbox (<= 2 KB) |");
        System.out.println("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |");
        for (Result r : results) {
            System.out.printf(Locale.ROOT, "| %s | %.1f s | %.1f s | %s | %s | %d MB | %.0f B | %s |%n", r.variant,
                    r.putSeconds, r.runningSeconds, Double.isNaN(r.publishSeconds) ? "TIMEOUT (" + r.published + ")"
                            : String.format(Locale.ROOT, "%.1f s", r.publishSeconds), r.oom ? "yes" : "none",
                    r.peakHeapBytes >> 20, r.heapPerIdleMailbox, Double.isNaN(r.marginalPerMailbox) ? "-"
                            : String.format(Locale.ROOT, "%.0f B", r.marginalPerMailbox));
        }
        for (Result r : results) {
            System.out.println("  " + r.variant + ": " + r.note);
        }
    }

    private static long jsonSize(Map<String, String> config) {
        long size = 2;
        for (Map.Entry<String, String> e : config.entrySet()) {
            size += e.getKey().length() + e.getValue().length() + 6;
        }
        return size;
    }

    private static void log(String line) {
        System.out.println(line);
    }

    private static double secondsSince(long nanos) {
        return (System.nanoTime() - nanos) / 1e9;
    }
}
