package io.mailbridge.pop3.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * A distributed Connect worker in a JVM of its own, loading Mailbridge only from the plugin archive that
 * {@code mvn package} built, so the artifact that ships is the one tested and a worker crash is a real process
 * death ({@code kill -9}).
 */
public final class WorkerProcess implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>> STRING_MAP =
            new com.fasterxml.jackson.core.type.TypeReference<>() { };
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final Process process;
    private final int restPort;
    private final Path log;

    private WorkerProcess(Process process, int restPort, Path log) {
        this.process = process;
        this.restPort = restPort;
        this.log = log;
    }

    /** Unzips {@code target/components/packages/*.zip} into {@code dir} and returns the plugin.path to use. */
    public static Path installPlugin(Path dir) throws IOException {
        Path packages = Path.of("target", "components", "packages");
        Path zip = null;
        try (DirectoryStream<Path> zips = Files.newDirectoryStream(packages, "*.zip")) {
            for (Path p : zips) {
                zip = p;
            }
        }
        if (zip == null) {
            throw new IllegalStateException("No plugin archive in " + packages.toAbsolutePath() + "; run mvn package");
        }
        Path pluginPath = dir.resolve("plugins");
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
            ZipEntry entry;
            while ((entry = in.getNextEntry()) != null) {
                Path target = pluginPath.resolve(entry.getName()).normalize();
                if (!target.startsWith(pluginPath)) {
                    throw new IOException("Bad zip entry " + entry.getName());
                }
                if (entry.isDirectory()) {
                    Files.createDirectories(target);
                } else {
                    Files.createDirectories(target.getParent());
                    Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        return pluginPath;
    }

    public static WorkerProcess start(Path workDir, String bootstrapServers, Path pluginPath, String groupId)
            throws IOException, InterruptedException {
        return start(workDir, bootstrapServers, pluginPath, groupId, Map.of(), List.of());
    }

    /**
     * Like {@link #start(Path, String, Path, String)}, with extra worker properties (appended after the defaults,
     * so they override them, e.g. {@code exactly.once.source.support=enabled}) and extra JVM options.
     */
    public static WorkerProcess start(Path workDir, String bootstrapServers, Path pluginPath, String groupId,
                                      Map<String, String> extraWorkerProps, List<String> jvmOptions)
            throws IOException, InterruptedException {
        return start(workDir, bootstrapServers, pluginPath, groupId, extraWorkerProps, jvmOptions, workerClasspath());
    }

    /**
     * Like {@link #start(Path, String, Path, String, Map, List)}, on a worker made of the given classpath, e.g. the
     * jars of another Kafka release ({@link WorkerJars}). Logging is set up for log4j2 (Kafka 4.x) and for reload4j
     * (Kafka 3.x) alike.
     */
    public static WorkerProcess start(Path workDir, String bootstrapServers, Path pluginPath, String groupId,
                                      Map<String, String> extraWorkerProps, List<String> jvmOptions,
                                      String classpath)
            throws IOException, InterruptedException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Files.createDirectories(workDir);
        Path props = workDir.resolve("worker-" + port + ".properties");
        Files.writeString(props, String.join("\n",
                "bootstrap.servers=" + bootstrapServers,
                "group.id=" + groupId,
                "listeners=http://127.0.0.1:" + port,
                "key.converter=org.apache.kafka.connect.storage.StringConverter",
                "value.converter=org.apache.kafka.connect.json.JsonConverter",
                "value.converter.schemas.enable=false",
                "offset.storage.topic=" + groupId + "-offsets",
                "config.storage.topic=" + groupId + "-configs",
                "status.storage.topic=" + groupId + "-status",
                "offset.storage.replication.factor=1",
                "config.storage.replication.factor=1",
                "status.storage.replication.factor=1",
                "offset.flush.interval.ms=500",
                "plugin.path=" + pluginPath.toAbsolutePath(),
                "plugin.discovery=service_load",
                ""));
        StringBuilder extra = new StringBuilder();
        for (Map.Entry<String, String> e : new java.util.TreeMap<>(extraWorkerProps).entrySet()) {
            extra.append(e.getKey()).append('=').append(e.getValue()).append('\n');
        }
        Files.writeString(props, extra.toString(), java.nio.file.StandardOpenOption.APPEND);
        Path log4j = workDir.resolve("log4j2-worker.xml");
        Path log = workDir.resolve("worker-" + port + ".log");
        Files.writeString(log4j, "<Configuration status=\"WARN\"><Appenders><File name=\"f\" fileName=\"" + log
                + "\"><PatternLayout pattern=\"%d %-5level [%t] %c{1}: %msg%n\"/></File></Appenders><Loggers>"
                + "<Logger name=\"io.mailbridge\" level=\"INFO\"/><Root level=\"WARN\"><AppenderRef ref=\"f\"/></Root>"
                + "</Loggers></Configuration>");
        Path log4j1 = workDir.resolve("log4j-worker.properties");
        Files.writeString(log4j1, String.join("\n",
                "log4j.rootLogger=WARN, f",
                "log4j.logger.io.mailbridge=INFO",
                "log4j.appender.f=org.apache.log4j.FileAppender",
                "log4j.appender.f.File=" + log,
                "log4j.appender.f.layout=org.apache.log4j.PatternLayout",
                "log4j.appender.f.layout.ConversionPattern=%d %-5p [%t] %c{1}: %m%n",
                ""));
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx512m");
        command.addAll(jvmOptions);
        command.add("-Dlog4j2.configurationFile=" + log4j.toAbsolutePath());
        command.add("-Dlog4j.configuration=" + log4j1.toUri());
        command.add("-cp");
        command.add(classpath);
        command.add("org.apache.kafka.connect.cli.ConnectDistributed");
        command.add(props.toAbsolutePath().toString());
        Process process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(workDir.resolve("worker-" + port + ".out").toFile())
                .start();
        WorkerProcess worker = new WorkerProcess(process, port, log);
        worker.awaitReady(Duration.ofSeconds(60));
        return worker;
    }

    /**
     * The test JVM's classpath without this project's classes and test-only libraries. Under {@code exec:java}
     * (the benchmark and quickstart profiles) {@code java.class.path} is Maven's own launcher, so the entries then
     * come from the class loader that loaded this class.
     */
    private static String workerClasspath() {
        List<String> keep = new ArrayList<>();
        for (String entry : classpathEntries()) {
            String e = entry.replace('\\', '/');
            // failsafe puts the packaged jar (target/kafka-connect-pop3-*.jar) where surefire puts target/classes
            if (e.endsWith("target/classes") || e.endsWith("target/test-classes") || e.contains("/greenmail")
                    || e.contains("kafka-connect-pop3-")
                    || e.contains("/angus") || e.contains("jakarta.mail") || e.contains("/junit")
                    || e.contains("surefire") || e.contains("failsafe")) {
                continue;
            }
            keep.add(entry);
        }
        return String.join(File.pathSeparator, keep);
    }

    private static List<String> classpathEntries() {
        List<String> entries = List.of(System.getProperty("java.class.path").split(File.pathSeparator));
        if (entries.stream().anyMatch(e -> e.contains("connect-runtime"))
                || !(WorkerProcess.class.getClassLoader() instanceof java.net.URLClassLoader loader)) {
            return entries;
        }
        List<String> fromLoader = new ArrayList<>();
        for (java.net.URL url : loader.getURLs()) {
            try {
                fromLoader.add(Path.of(url.toURI()).toString());
            } catch (java.net.URISyntaxException | IllegalArgumentException e) {
                // not a local file: of no use to a child JVM
            }
        }
        return fromLoader;
    }

    private void awaitReady(Duration timeout) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("Worker exited with " + process.exitValue() + "; log: " + logTail());
            }
            try {
                HttpResponse<String> r = request("GET", "/connectors", null);
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("Worker not ready after " + timeout + "; log: " + logTail());
    }

    public HttpResponse<String> request(String method, String path, String body) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + restPort + path))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json");
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    public void putConnector(String name, Map<String, String> config) throws IOException, InterruptedException {
        HttpResponse<String> r = request("PUT", "/connectors/" + name + "/config", JSON.writeValueAsString(config));
        if (r.statusCode() >= 300) {
            throw new IllegalStateException("PUT connector " + name + ": " + r.statusCode() + " " + r.body());
        }
    }

    public JsonNode status(String name) throws IOException, InterruptedException {
        HttpResponse<String> r = request("GET", "/connectors/" + name + "/status", null);
        return r.statusCode() == 200 ? JSON.readTree(r.body()) : null;
    }

    /** The committed offsets of a connector, from {@code GET /connectors/{name}/offsets}. */
    public Map<Map<String, Object>, Map<String, Object>> committedOffsets(String connector)
            throws IOException, InterruptedException {
        HttpResponse<String> r = request("GET", "/connectors/" + connector + "/offsets", null);
        if (r.statusCode() != 200) {
            throw new IllegalStateException("GET offsets of " + connector + ": " + r.statusCode() + " " + r.body());
        }
        Map<Map<String, Object>, Map<String, Object>> out = new java.util.HashMap<>();
        for (JsonNode offset : JSON.readTree(r.body()).path("offsets")) {
            out.put(JSON.convertValue(offset.path("partition"), STRING_MAP),
                    JSON.convertValue(offset.path("offset"), STRING_MAP));
        }
        return out;
    }

    /** Waits until the worker has committed the offset of the record of {@code uidl}, the newest of its mailbox. */
    public Map<String, Object> awaitCommittedUidl(String connector, String mailboxId, String uidl, Duration timeout)
            throws InterruptedException {
        return CommittedOffsets.await(() -> committedOffsets(connector), mailboxId, CommittedOffsets.uidlIs(uidl),
                timeout);
    }

    public void awaitTaskRunning(String name, Duration timeout) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            last = status(name);
            if (last != null && last.path("tasks").size() > 0
                    && "RUNNING".equals(last.path("tasks").get(0).path("state").asText())) {
                return;
            }
            Thread.sleep(250);
        }
        throw new AssertionError("Task of " + name + " not running: " + last + "; log: " + logTail());
    }

    /** The worker's log file (io.mailbridge at INFO, everything else at WARN). */
    public Path logFile() {
        return log;
    }

    /** The whole worker log, for assertions on what the connector logged. */
    public String logText() {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILL: no shutdown hook, no final offset flush. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    public String logTail() {
        try (InputStream in = Files.newInputStream(log)) {
            byte[] all = in.readAllBytes();
            int from = Math.max(0, all.length - 4000);
            return new String(all, from, all.length - from);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor();
            }
        }
    }
}
