package io.mailbridge.pop3.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.mailbridge.pop3.testing.ConnectCluster;
import io.mailbridge.pop3.testing.DovecotServer;
import io.mailbridge.pop3.testing.LatencyProxy;
import io.mailbridge.pop3.testing.WorkerProcess;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.IntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Mailbridge against two ceilings, on a real Dovecot, a real KRaft broker and a real Connect worker: the raw POP3
 * reader, and the Connect pipeline itself ({@link CeilingSourceConnector}: ready-made records of the same shape and
 * size through the same worker, converter and broker). Each throughput workload runs at the connector's and the
 * worker's defaults and with the bulk settings of README "Performance".
 *
 * <pre>
 * mvn -Pbenchmark -DskipTests package                                   # everything, about 10 minutes
 * mvn -Pbenchmark -DskipTests package -Dexec.args="--only=plain4k,wan --scale=0.2"   # a quick look
 * </pre>
 *
 * Arguments: {@code --only=plain4k,tls4k,1mb,wan,memory,scale} (default: all; {@code scale} is
 * {@link PollScaleBench}: {@code --scale-mailboxes=N} (1,000) mailboxes x 10 mails on 3 worker processes, 50 ms
 * RTT, {@code --scale-interval-ms=N} (60,000)); {@code --scale=F} multiplies every
 * message count; {@code --count=N} sets it; {@code --raw-runs=N} timed raw passes, the best is the ceiling
 * (default 3); {@code --e2e-runs=N} connector runs per throughput workload, each a new connector that publishes
 * the whole mailbox again into a new topic, the best counts (default 3); {@code --verbose} logs each POP3 session of the connector; {@code --jfr=DIR} records JFR of the in-process worker (and of the worker process of the memory
 * workload) into DIR; {@code --connector.KEY=VALUE} overrides a connector setting for the throughput workloads.
 *
 * <p>Per workload: a fresh Dovecot mailbox is filled (not timed); the raw reader ({@link RawPop3Reader}) reads it
 * once untimed (so Dovecot's index exists for both contenders) and then {@code --raw-runs} times; then the
 * ceiling connector and Mailbridge are each created on the worker and the clock runs from the REST call until the
 * topic's end offset equals the message count (every record acknowledged by the broker).
 */
public final class Benchmark {

    private static final String PASSWORD = "bench-pw";
    private static final int RAW_WINDOW = 500;
    private static final Duration E2E_TIMEOUT = Duration.ofMinutes(4);
    private static final double MB = 1024.0 * 1024.0;

    /** What a user would set for a bulk import (see README "Performance"). */
    static final Map<String, String> BULK_SETTINGS = new LinkedHashMap<>();

    static {
        BULK_SETTINGS.put("pop3.pipelining.window", "500");
        BULK_SETTINGS.put("batch.max.messages", "10000");
        BULK_SETTINGS.put("poll.interval.ms", "1000");
        BULK_SETTINGS.put("producer.override.linger.ms", "5");
        BULK_SETTINGS.put("producer.override.batch.size", "524288");
        BULK_SETTINGS.put("producer.override.max.request.size", "4194304");
        BULK_SETTINGS.put("producer.override.compression.type", "lz4");
    }

    private record Workload(String name, String description, int messages, IntFunction<byte[]> mail,
                            boolean tls, boolean wan, boolean memory, int size, boolean attachment) {
    }

    /** One row of the table. */
    private record Row(String workload, int messages, long bytes, double rawSeconds, double pipelineSeconds,
                       double e2eSeconds, double firstRecordSeconds, String peakHeap, String note) {
    }

    private final Map<String, String> connectorOverrides = new LinkedHashMap<>();
    private final List<Row> rows = new ArrayList<>();
    private Set<String> only;
    private double scale = 1.0;
    private Integer count;
    private int rawRuns = 3;
    private int e2eRuns = 3;
    private Path jfrDir;
    private boolean verbose;
    private int scaleMailboxes = 1_000;
    private long scaleIntervalMs = 60_000;
    private final List<PollScaleBench.Result> scaleRows = new ArrayList<>();

    private DovecotServer dovecot;
    private ConnectCluster cluster;
    private Admin admin;
    private SSLContext tls;
    private int connectorSeq;

    private Benchmark() {
    }

    public static void main(String[] args) throws Exception {
        Benchmark bench = new Benchmark();
        bench.parse(args);
        int status = 0;
        try {
            bench.run();
        } catch (Throwable t) {
            t.printStackTrace();
            status = 1;
        } finally {
            bench.close();
        }
        // exec:java runs in Maven's JVM: leave no broker threads behind.
        System.out.flush();
        if (status != 0) {
            System.exit(status);
        }
    }

    private void parse(String[] args) {
        for (String arg : args) {
            for (String a : arg.trim().split("\\s+")) {
                if (a.isEmpty()) {
                    continue;
                }
                if (a.startsWith("--only=")) {
                    only = new LinkedHashSet<>(List.of(a.substring(7).split(",")));
                } else if (a.startsWith("--scale=")) {
                    scale = Double.parseDouble(a.substring(8));
                } else if (a.startsWith("--count=")) {
                    count = Integer.parseInt(a.substring(8));
                } else if (a.startsWith("--raw-runs=")) {
                    rawRuns = Math.max(1, Integer.parseInt(a.substring(11)));
                } else if (a.startsWith("--e2e-runs=")) {
                    e2eRuns = Math.max(1, Integer.parseInt(a.substring(11)));
                } else if (a.startsWith("--scale-mailboxes=")) {
                    scaleMailboxes = Integer.parseInt(a.substring(18));
                } else if (a.startsWith("--scale-interval-ms=")) {
                    scaleIntervalMs = Long.parseLong(a.substring(20));
                } else if (a.equals("--verbose")) {
                    verbose = true;
                    // The poller logs each session (messages, bytes, duration) at INFO.
                    org.apache.logging.log4j.core.config.Configurator.setLevel("io.mailbridge",
                            org.apache.logging.log4j.Level.INFO);
                } else if (a.startsWith("--jfr=")) {
                    jfrDir = Path.of(a.substring(6)).toAbsolutePath();
                } else if (a.startsWith("--connector.") && a.contains("=")) {
                    int eq = a.indexOf('=');
                    connectorOverrides.put(a.substring(12, eq), a.substring(eq + 1));
                } else {
                    throw new IllegalArgumentException("Unknown argument " + a + "; see the Benchmark javadoc");
                }
            }
        }
    }

    private int scaled(int messages) {
        if (count != null) {
            return count;
        }
        return Math.max(1, (int) Math.round(messages * scale));
    }

    private List<Workload> workloads() {
        List<Workload> all = List.of(
                new Workload("plain4k", "4 KB mails, plain POP3", scaled(10_000), n -> BenchMails.text(n, 4096),
                        false, false, false, 4096, false),
                new Workload("tls4k", "4 KB mails, implicit TLS", scaled(10_000), n -> BenchMails.text(n, 4096),
                        true, false, false, 4096, false),
                new Workload("1mb", "1 MB mails (base64 attachment)", scaled(200),
                        n -> BenchMails.attachment(n, 1024 * 1024), false, false, false, 1024 * 1024, true),
                new Workload("wan", "4 KB mails, 20 ms round trip", scaled(5_000), n -> BenchMails.text(n, 4096),
                        false, true, false, 4096, false),
                new Workload("memory", "20 MB mails, -Xmx256m worker", Math.min(scaled(50), 50),
                        n -> BenchMails.attachment(n, 20 * 1024 * 1024), false, false, true, 0, true));
        List<Workload> chosen = new ArrayList<>();
        for (Workload w : all) {
            if (only == null || only.contains(w.name)) {
                chosen.add(w);
            }
        }
        if (chosen.isEmpty() && !runsScale() && !scale10kChosen()) {
            throw new IllegalArgumentException("--only names none of plain4k, tls4k, 1mb, wan, memory, scale, scale10k");
        }
        return chosen;
    }

    private void run() throws Exception {
        List<Workload> workloads = workloads();
        printMachine();
        DovecotServer.Builder builder = DovecotServer.builder().user("warmup", PASSWORD);
        for (Workload w : workloads) {
            if (w.memory) {
                builder.user("memskip", PASSWORD).user("memtruncate", PASSWORD);
            } else {
                builder.user(w.name, PASSWORD);
            }
        }
        // Enough login processes for the raw reader, the connector's live check and the task at once.
        dovecot = builder.build().start();
        tls = sslContext(dovecot.caPem());
        log("Dovecot " + DovecotServer.installedVersion() + " on " + dovecot.host() + ":" + dovecot.plainPort()
                + " (plain), :" + dovecot.tlsPort() + " (TLS)");

        boolean inProcess = workloads.stream().anyMatch(w -> !w.memory);
        long t = System.nanoTime();
        cluster = ConnectCluster.start("bench", 1, Map.of("connector.client.config.override.policy", "All"));
        admin = cluster.connect().kafka().createAdminClient();
        log(String.format(Locale.ROOT, "KRaft broker and Connect worker up in %.1f s", secondsSince(t)));

        jdk.jfr.Recording recording = null;
        if (inProcess) {
            warmUp();
            if (jfrDir != null) {
                Files.createDirectories(jfrDir);
                recording = new jdk.jfr.Recording(jdk.jfr.Configuration.getConfiguration("profile"));
                recording.setName("mailbridge-bench");
                recording.start();
            }
        }
        try {
            for (Workload w : workloads) {
                if (w.memory) {
                    memory(w);
                } else {
                    throughput(w);
                }
            }
            if (runsScale()) {
                scaleRows.add(new PollScaleBench(cluster.bootstrapServers(), scaleMailboxes, 10, 3, 6, 50,
                        scaleIntervalMs).run());
            }
        } finally {
            if (recording != null) {
                Path file = jfrDir.resolve("inprocess.jfr");
                recording.dump(file);
                recording.close();
                log("JFR of the in-process worker: " + file);
            }
        }
        printTable();
        if (scale10kChosen()) {
            new Scale10kBenchmark(cluster.bootstrapServers(), admin, count).run();
        }
    }

    /** The 10,000-mailbox rows ({@link Scale10kBenchmark}): with all rows, or {@code --only=scale10k}. */
    private boolean scale10kChosen() {
        return only == null || only.contains(Scale10kBenchmark.NAME);
    }

    // ------------------------------------------------------------------------------------------ workloads

    /** Runs the connector code path once, untimed, so the timed runs meet a JIT-compiled worker (a live worker). */
    private void warmUp() throws Exception {
        int n = Math.min(5000, Math.max(500, scaled(5000)));
        deliver("warmup", n, i -> BenchMails.text(i, 4096));
        // A fresh JVM spends seconds in the JIT compiler on the broker, worker, converter and connector paths;
        // a worker that has been running for a while does not. Three passes get most hot code compiled.
        for (int round = 1; round <= 3; round++) {
            long jit = ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
            E2e e2e = endToEnd("warmup", dovecot.plainPort(), false, n, Map.of());
            log(String.format(Locale.ROOT, "warm-up %d: %d messages through the worker in %.2f s, %d ms in the JIT "
                            + "compiler (not counted)", round, n, e2e.seconds,
                    ManagementFactory.getCompilationMXBean().getTotalCompilationTime() - jit));
        }
    }

    /**
     * Waits (up to 30 s) until the JIT compiler has been idle for a second, so a timed run does not share the two
     * cores with a compile queue left over from the warm-up or the delivery.
     */
    private static void awaitJitQuiet() throws InterruptedException {
        java.lang.management.CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        long last = jit.getTotalCompilationTime();
        int quiet = 0;
        while (quiet < 4 && System.nanoTime() < deadline) {
            Thread.sleep(250);
            long now = jit.getTotalCompilationTime();
            quiet = now - last < 20 ? quiet + 1 : 0;
            last = now;
        }
    }

    private void throughput(Workload w) throws Exception {
        log("== " + w.name + ": " + w.messages + " x " + w.description);
        long bytes = deliver(w.name, w.messages, w.mail);
        LatencyProxy proxy = w.wan ? new LatencyProxy(dovecot.host(), dovecot.plainPort(), 10) : null;
        try {
            int port = proxy != null ? proxy.port() : w.tls ? dovecot.tlsPort() : dovecot.plainPort();
            double raw = raw(w.name, port, w.tls, w.messages, w.messages >= 1000 || w.wan);
            for (boolean bulk : new boolean[] {false, true}) {
                Map<String, String> settings = bulk ? BULK_SETTINGS : Map.of();
                E2e pipeline = null;
                E2e e2e = null;
                for (int i = 0; i < e2eRuns; i++) {
                    pipeline = best(pipeline, ceiling(w, bulk));
                    e2e = best(e2e, endToEnd(w.name, port, w.tls, w.messages, settings));
                }
                rows.add(new Row(w.name + (bulk ? " (bulk)" : " (defaults)"), w.messages, bytes, raw,
                        pipeline.seconds, e2e.seconds, e2e.firstSeconds, "-", e2e.note));
            }
        } finally {
            if (proxy != null) {
                proxy.close();
            }
        }
    }

    private static E2e best(E2e best, E2e run) {
        return best == null || Double.isNaN(best.seconds) || run.seconds < best.seconds ? run : best;
    }

    /** The Connect pipeline's ceiling for the workload: ready-made records of the same shape and size. */
    private E2e ceiling(Workload w, boolean bulk) throws Exception {
        String name = "bench-ceiling-" + w.name + "-" + (++connectorSeq);
        Map<String, String> config = new LinkedHashMap<>();
        config.put("connector.class", CeilingSourceConnector.class.getName());
        config.put("tasks.max", "1");
        config.put("topic", name);
        config.put("count", String.valueOf(w.messages));
        config.put("size", String.valueOf(w.size));
        config.put("attachment", String.valueOf(w.attachment));
        if (bulk) {
            for (Map.Entry<String, String> e : BULK_SETTINGS.entrySet()) {
                if (e.getKey().startsWith("producer.override.")) {
                    config.put(e.getKey(), e.getValue());
                }
            }
        }
        return measure(name, config, w.messages, null, null);
    }

    private void memory(Workload w) throws Exception {
        log("== " + w.name + ": " + w.messages + " x " + w.description);
        long bytesSkip = deliver("memskip", w.messages, w.mail);
        long bytesTruncate = deliver("memtruncate", w.messages, w.mail);
        double raw = raw("memskip", dovecot.plainPort(), false, w.messages, false);
        Path dir = Files.createTempDirectory("mailbridge-bench-worker-");
        Path gcLog = dir.resolve("gc.log");
        List<String> jvm = new ArrayList<>(List.of("-Xmx256m", "-Xlog:gc:file=" + gcLog + ":uptime,level,tags",
                "-XX:+ExitOnOutOfMemoryError"));
        if (jfrDir != null) {
            Files.createDirectories(jfrDir);
            jvm.add("-XX:StartFlightRecording=filename=" + jfrDir.resolve("worker.jfr") + ",settings=profile,dumponexit=true");
        }
        long t = System.nanoTime();
        Path pluginPath = WorkerProcess.installPlugin(dir);
        try (WorkerProcess worker = WorkerProcess.start(dir.resolve("worker"), cluster.bootstrapServers(), pluginPath,
                "bench-mem", Map.of("connector.client.config.override.policy", "All"), jvm)) {
            log(String.format(Locale.ROOT, "worker process (pid %d, -Xmx256m, plugin zip) up in %.1f s", worker.pid(),
                    secondsSince(t)));
            HeapSampler sampler = null;
            try {
                sampler = new HeapSampler(worker.pid(), 10);
            } catch (Exception e) {
                log("cannot attach to the worker for heap sampling (GC log only): " + e);
            }
            for (String policy : List.of("skip", "truncate")) {
                String user = "mem" + policy;
                long bytes = policy.equals("skip") ? bytesSkip : bytesTruncate;
                Map<String, String> extra = new LinkedHashMap<>(BULK_SETTINGS);
                extra.put("message.max.bytes", "1048576");
                extra.put("oversize.policy", policy);
                int gcLinesBefore = lines(gcLog).size();
                if (sampler != null) {
                    sampler.reset();
                }
                E2e e2e = endToEnd(user, dovecot.plainPort(), false, w.messages, extra, worker);
                String oom = worker.logText().contains("OutOfMemoryError") || !worker.isAlive()
                        ? "OutOfMemoryError or worker died" : "no OutOfMemoryError";
                List<String> gc = lines(gcLog);
                HeapUse heap = heapUse(gc.subList(Math.min(gcLinesBefore, gc.size()), gc.size()));
                long sampled = sampler == null ? 0 : sampler.sampledPeak();
                long peak = Math.max(sampled, heap.peakBeforeGcBytes);
                String heapNote = String.format(Locale.ROOT, "peak heap used %d MB (sampled every 10 ms over JMX: %d MB;"
                                + " largest heap at a GC start: %s; pool peaks summed, an upper bound: %s) %s",
                        peak / (1024 * 1024), sampled / (1024 * 1024), heap.peak,
                        sampler == null ? "n/a" : sampler.poolPeakSum() / (1024 * 1024) + " MB", heap.note);
                String note = (e2e.note + "; " + oom + "; " + heapNote).trim();
                rows.add(new Row("memory/" + policy, w.messages, bytes, policy.equals("skip") ? raw : Double.NaN,
                        Double.NaN, e2e.seconds, e2e.firstSeconds, peak / (1024 * 1024) + " MB", note));
            }
            if (sampler != null) {
                sampler.close();
            }
            HeapUse whole = heapUse(lines(gcLog));
            log("worker process heap over its life: " + whole.peak + " largest at a GC start, " + whole.note + " ("
                    + gcLog + ")");
        }
    }

    // ------------------------------------------------------------------------------------------ measurements

    private long deliver(String user, int messages, IntFunction<byte[]> mail) {
        long t = System.nanoTime();
        long bytes = 0;
        List<byte[]> batch = new ArrayList<>();
        long batchBytes = 0;
        for (int i = 1; i <= messages; i++) {
            byte[] m = mail.apply(i);
            bytes += m.length;
            batch.add(m);
            batchBytes += m.length;
            if (batchBytes > 64 * 1024 * 1024 || batch.size() >= 1000) {
                dovecot.deliver(user, batch);
                batch.clear();
                batchBytes = 0;
            }
        }
        if (!batch.isEmpty()) {
            dovecot.deliver(user, batch);
        }
        log(String.format(Locale.ROOT, "delivered %d messages (%.1f MB) to %s in %.1f s (not timed)", messages,
                bytes / MB, user, secondsSince(t)));
        return bytes;
    }

    /** Best of the timed raw passes, in seconds, after one untimed pass when {@code warm}. */
    private double raw(String user, int port, boolean useTls, int expected, boolean warm) throws Exception {
        RawPop3Reader reader = new RawPop3Reader(dovecot.host(), port, useTls ? tls : null, user, PASSWORD,
                RAW_WINDOW);
        if (warm) {
            reader.readAll();
        }
        awaitJitQuiet();
        double best = Double.MAX_VALUE;
        StringBuilder runs = new StringBuilder();
        CpuMeter.Usage bestUsage = null;
        for (int i = 0; i < rawRuns; i++) {
            CpuMeter meter = new CpuMeter();
            RawPop3Reader.Result r = reader.readAll();
            CpuMeter.Usage usage = meter.stop();
            if (r.messages() != expected) {
                throw new IllegalStateException("raw reader saw " + r.messages() + " messages, expected " + expected);
            }
            if (r.seconds() < best) {
                best = r.seconds();
                bestUsage = usage;
            }
            runs.append(String.format(Locale.ROOT, " %.3f", r.seconds()));
        }
        log(String.format(Locale.ROOT, "raw ceiling %s: best %.3f s of%s s; %s", user, best, runs,
                bestUsage.describe(expected)));
        return best;
    }

    private record E2e(double seconds, double firstSeconds, String note) {
    }

    private E2e endToEnd(String user, int port, boolean useTls, int expected, Map<String, String> extra)
            throws Exception {
        return endToEnd(user, port, useTls, expected, extra, null);
    }

    /**
     * Creates a connector for the mailbox (on the in-process worker, or on {@code worker}) and waits until the
     * topic holds {@code expected} records. The clock starts just before the REST call that creates it.
     */
    private E2e endToEnd(String user, int port, boolean useTls, int expected, Map<String, String> extra,
                         WorkerProcess worker) throws Exception {
        String name = "bench-" + user + "-" + (++connectorSeq);
        String topic = name;
        Map<String, String> config = new LinkedHashMap<>();
        config.put("connector.class", "io.mailbridge.pop3.Pop3SourceConnector");
        config.put("tasks.max", "1");
        config.put("topic", topic);
        config.put("pop3.host", dovecot.host());
        config.put("pop3.port", String.valueOf(port));
        config.put("pop3.security", useTls ? "tls" : "none");
        if (useTls) {
            config.put("pop3.ssl.truststore.location", dovecot.caPem().toString());
        }
        config.put("pop3.username", user);
        config.put("pop3.password", PASSWORD);
        config.putAll(extra);
        if (worker == null) {
            config.putAll(connectorOverrides);
        }
        return measure(name, config, expected, worker, extra.get("oversize.policy"));
    }

    /**
     * Creates the connector (on the in-process worker, or on {@code worker}) and waits until its topic holds
     * {@code expected} records. The clock starts just before the REST call that creates it.
     */
    private E2e measure(String name, Map<String, String> config, int expected, WorkerProcess worker, String policy)
            throws Exception {
        String topic = config.get("topic");
        String user = name;
        cluster.connect().kafka().createTopic(topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        awaitJitQuiet();
        Map<Long, Long> threadCpu = verbose ? threadCpuTimes() : Map.of();
        CpuMeter meter = new CpuMeter();
        long start = System.nanoTime();
        log("creating connector " + name);
        if (worker == null) {
            cluster.createConnector(name, config);
        } else {
            worker.putConnector(name, config);
        }
        long first = -1;
        long end = -1;
        long deadline = start + E2E_TIMEOUT.toNanos();
        long last = 0;
        while (System.nanoTime() < deadline) {
            long offset = admin.listOffsets(Map.of(tp, OffsetSpec.latest())).partitionResult(tp).get().offset();
            long now = System.nanoTime();
            if (offset > 0 && first < 0) {
                first = now;
            }
            last = offset;
            if (offset >= expected) {
                end = now;
                break;
            }
            Thread.sleep(20); // polling costs the broker too: keep it light
        }
        CpuMeter.Usage usage = meter.stop();
        if (verbose && worker == null) {
            logThreadCpu(threadCpu, usage);
        }
        String note = "";
        if (end < 0) {
            note = "TIMEOUT: " + last + " of " + expected + " records after " + E2E_TIMEOUT.toSeconds() + " s; "
                    + status(name, worker);
        } else {
            note = checkFirstRecord(topic, policy);
        }
        String cpu = worker == null ? usage.describe(expected)
                : String.format(Locale.ROOT, "CPU %.2f s in the worker process, broker and Dovecot; other processes"
                + " took %.0f%% of the cores", usage.childrenSeconds() + usage.selfSeconds(), 100 * usage.otherShare());
        note = (note + " " + cpu).trim();
        double seconds = end < 0 ? Double.NaN : (end - start) / 1e9;
        double firstSeconds = first < 0 ? Double.NaN : (first - start) / 1e9;
        log(String.format(Locale.ROOT, "end to end %s: %d records in %.3f s (first record after %.3f s) %s", user,
                last, seconds, firstSeconds, note));
        if (worker == null) {
            cluster.connect().deleteConnector(name);
        } else {
            worker.request("DELETE", "/connectors/" + name, null);
        }
        return new E2e(seconds, firstSeconds, note);
    }

    private static Map<Long, Long> threadCpuTimes() {
        java.lang.management.ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        Map<Long, Long> times = new java.util.HashMap<>();
        times.put(-1L, gcMillis());
        times.put(-2L, ManagementFactory.getCompilationMXBean().getTotalCompilationTime());
        for (long id : threads.getAllThreadIds()) {
            times.put(id, threads.getThreadCpuTime(id));
        }
        return times;
    }

    private static long gcMillis() {
        long total = 0;
        for (java.lang.management.GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            total += Math.max(0, gc.getCollectionTime());
        }
        return total;
    }

    /** Which threads of this JVM (worker, broker, clients) used the CPU; the rest is GC, JIT and the VM. */
    private static void logThreadCpu(Map<Long, Long> before, CpuMeter.Usage usage) {
        java.lang.management.ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        Map<String, Long> byName = new java.util.HashMap<>();
        long javaThreads = 0;
        for (long id : threads.getAllThreadIds()) {
            long now = threads.getThreadCpuTime(id);
            java.lang.management.ThreadInfo info = threads.getThreadInfo(id);
            if (now < 0 || info == null) {
                continue;
            }
            long delta = now - before.getOrDefault(id, 0L);
            javaThreads += delta;
            byName.merge(info.getThreadName().replaceAll("\\d+", "N"), delta, Long::sum);
        }
        StringBuilder out = new StringBuilder("CPU by thread:");
        byName.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(8)
                .forEach(e -> out.append(String.format(Locale.ROOT, " %s %.2fs;", e.getKey(), e.getValue() / 1e9)));
        out.append(String.format(Locale.ROOT, " GC/JIT/VM (not Java threads) %.2fs (GC pauses and concurrent cycles %d ms,"
                        + " JIT compiling %d ms)", usage.selfSeconds() - javaThreads / 1e9, gcMillis() - before.get(-1L),
                ManagementFactory.getCompilationMXBean().getTotalCompilationTime() - before.get(-2L)));
        log(out.toString());
    }

    private String status(String name, WorkerProcess worker) {
        try {
            return worker == null ? String.valueOf(cluster.status(name)) : String.valueOf(worker.status(name));
        } catch (Exception e) {
            return "status unavailable: " + e;
        }
    }

    /** Reads the first record back: it must be a parsed message (no parse_error), truncated as the policy says. */
    private String checkFirstRecord(String topic, String policy) {
        Map<String, Object> props = Map.of(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1, ConsumerConfig.GROUP_ID_CONFIG, "bench-check-" + topic);
        try (KafkaConsumer<byte[], byte[]> consumer = cluster.connect().kafka().createConsumerAndSubscribeTo(props,
                topic)) {
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    JsonNode value = ConnectCluster.json(new String(r.value(), StandardCharsets.UTF_8));
                    boolean truncated = value.path("truncated").asBoolean();
                    if (!value.path("parse_error").isNull()) {
                        return "CHECK FAILED: parse_error " + value.path("parse_error").asText();
                    }
                    if (truncated != (policy != null)) {
                        return "CHECK FAILED: truncated=" + truncated;
                    }
                    if (policy == null && value.path("text").isNull()) {
                        return "CHECK FAILED: no text";
                    }
                    return "";
                }
            }
            return "CHECK FAILED: first record not readable";
        }
    }

    // ------------------------------------------------------------------------------------------ heap

    private record HeapUse(String peak, long peakBeforeGcBytes, String note) {
    }

    // [1.234s][info][gc] GC(3) Pause Young (Normal) (G1 Evacuation Pause) 45M->12M(256M) 3.456ms
    private static final Pattern GC_LINE = Pattern.compile("GC\\(\\d+\\) .*?(\\d+)M->(\\d+)M\\((\\d+)M\\)");

    private static HeapUse heapUse(List<String> gcLines) {
        long peakBefore = -1;
        long maxAfter = -1;
        long committed = -1;
        int collections = 0;
        for (String line : gcLines) {
            Matcher m = GC_LINE.matcher(line);
            if (m.find()) {
                collections++;
                peakBefore = Math.max(peakBefore, Long.parseLong(m.group(1)));
                maxAfter = Math.max(maxAfter, Long.parseLong(m.group(2)));
                committed = Math.max(committed, Long.parseLong(m.group(3)));
            }
        }
        if (collections == 0) {
            return new HeapUse("no GC", 0, "(no GC in this phase)");
        }
        return new HeapUse(peakBefore + " MB", peakBefore * 1024 * 1024, String.format(Locale.ROOT,
                "(%d GCs, max live after GC %d MB, committed <= %d MB)", collections, maxAfter, committed));
    }

    private static List<String> lines(Path file) {
        try {
            return Files.exists(file) ? Files.readAllLines(file) : List.of();
        } catch (Exception e) {
            return List.of();
        }
    }

    // ------------------------------------------------------------------------------------------ output

    private void printMachine() {
        log(String.format(Locale.ROOT, "machine: %d cores, %.1f GB RAM, %s %s (%s), %s", Runtime.getRuntime()
                        .availableProcessors(), totalMemoryGb(), System.getProperty("java.vm.name"),
                System.getProperty("java.version"), System.getProperty("os.arch"), System.getProperty("os.name")));
    }

    private static double totalMemoryGb() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize() / (1024.0 * 1024 * 1024);
        }
        return Double.NaN;
    }

    private boolean runsScale() {
        return only == null || only.contains("scale");
    }

    private void printTable() {
        StringBuilder out = new StringBuilder("\n");
        out.append("| workload | messages | MB | raw POP3 msg/s | Connect pipeline msg/s | Mailbridge msg/s | "
                + "Mailbridge MB/s | ratio to the lower ceiling | first record | peak heap |\n");
        out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        List<String> notes = new ArrayList<>();
        for (Row r : rows) {
            double mb = r.bytes / MB;
            String rawMsgs = Double.isNaN(r.rawSeconds) ? "-" : fmt(r.messages / r.rawSeconds);
            String pipeline = Double.isNaN(r.pipelineSeconds) ? "-" : fmt(r.messages / r.pipelineSeconds);
            String e2eMsgs = Double.isNaN(r.e2eSeconds) ? "n/a" : fmt(r.messages / r.e2eSeconds);
            String e2eMb = Double.isNaN(r.e2eSeconds) ? "n/a" : fmt(mb / r.e2eSeconds);
            double ceiling = Math.max(Double.isNaN(r.rawSeconds) ? 0 : r.rawSeconds,
                    Double.isNaN(r.pipelineSeconds) ? 0 : r.pipelineSeconds);
            String ratio = ceiling == 0 || Double.isNaN(r.e2eSeconds) ? "-"
                    : String.format(Locale.ROOT, "%.2f", ceiling / r.e2eSeconds);
            String firstRecord = Double.isNaN(r.firstRecordSeconds) ? "-"
                    : String.format(Locale.ROOT, "%.2f s", r.firstRecordSeconds);
            out.append(String.format(Locale.ROOT, "| %s | %d | %.0f | %s | %s | %s | %s | %s | %s | %s |%n",
                    r.workload, r.messages, mb, rawMsgs, pipeline, e2eMsgs, e2eMb, ratio, firstRecord, r.peakHeap));
            if (!r.note.isBlank()) {
                notes.add(r.workload + ": " + r.note);
            }
        }
        for (String note : notes) {
            out.append("\n").append(note);
        }
        out.append("\n(defaults): the connector's and the worker's defaults; (bulk) and memory rows: ")
                .append(BULK_SETTINGS);
        if (!connectorOverrides.isEmpty()) {
            out.append(" overridden by ").append(connectorOverrides);
        }
        if (!scaleRows.isEmpty()) {
            out.append("\n\n").append(String.join("\n", PollScaleBench.table(scaleRows)));
            for (PollScaleBench.Result r : scaleRows) {
                out.append("\n").append(r.note());
            }
        }
        System.out.println(out);
    }

    private static String fmt(double v) {
        return v >= 100 ? String.format(Locale.ROOT, "%,.0f", v) : String.format(Locale.ROOT, "%.1f", v);
    }

    private static void log(String line) {
        System.out.println(java.time.LocalTime.now() + " [bench] " + line);
        System.out.flush();
    }

    private static double secondsSince(long nanos) {
        return (System.nanoTime() - nanos) / 1e9;
    }

    private static SSLContext sslContext(Path caPem) throws Exception {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(caPem)) {
            int i = 0;
            for (Certificate cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                trust.setCertificateEntry("ca" + i++, cert);
            }
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        return context;
    }

    private void close() {
        if (admin != null) {
            admin.close(Duration.ofSeconds(5));
        }
        if (cluster != null) {
            try {
                cluster.close();
            } catch (RuntimeException e) {
                System.err.println("stopping the cluster: " + e);
            }
        }
        if (dovecot != null) {
            dovecot.close();
        }
    }
}
