package io.mailbridge.pop3.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mailbridge.pop3.testing.DovecotServer;
import io.mailbridge.pop3.testing.LatencyProxy;
import io.mailbridge.pop3.testing.Mails;
import io.mailbridge.pop3.testing.MisbehavingPop3Server;
import io.mailbridge.pop3.testing.WorkerProcess;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The scale row of the benchmark: many mailboxes on one Dovecot behind a long link, one connector spread over
 * several Connect worker processes. It measures how long the first round takes to publish every mail, then watches
 * one idle poll interval and reports the worst gap between two polls of one mailbox (from Dovecot's own login log),
 * the sessions per second and the workers' CPU per idle poll. One more mailbox, on a server that trickles its
 * reply a byte every 30 s, sits in one of the tasks: the worst gap of its task-mates is reported apart, so the
 * cost of a bad server to its neighbours shows.
 */
final class PollScaleBench {

    static final String TRICKLER = "trickle";
    private static final String PASSWORD = "bench-pw";
    private static final Pattern LOGIN = Pattern.compile("^(\\d+) pop3-login: Info: Login: user=<([^>]+)>");
    private static final ObjectMapper JSON = new ObjectMapper();

    record Result(int mailboxes, int mails, int workers, int tasks, long rttMs, long intervalMs, double putSeconds,
                  double publishSeconds, double worstGapSeconds, double worstGapTrickleTaskSeconds,
                  String worstGapMailbox, double sessionsPerSecond, double cpuMsPerIdlePoll, int idlePolls,
                  int tricklerSessions, String note) {
    }

    private final String bootstrapServers;
    private final int mailboxes;
    private final int mailsEach;
    private final int workers;
    private final int tasks;
    private final long oneWayDelayMs;
    private final long intervalMs;

    PollScaleBench(String bootstrapServers, int mailboxes, int mailsEach, int workers, int tasks, long rttMs,
                   long intervalMs) {
        this.bootstrapServers = bootstrapServers;
        this.mailboxes = mailboxes;
        this.mailsEach = mailsEach;
        this.workers = workers;
        this.tasks = tasks;
        this.oneWayDelayMs = rttMs / 2;
        this.intervalMs = intervalMs;
    }

    private static String user(int i) {
        return String.format(Locale.ROOT, "s%05d", i);
    }

    Result run() throws Exception {
        log("== scale: " + mailboxes + " mailboxes x " + mailsEach + " mails, Dovecot behind " + 2 * oneWayDelayMs
                + " ms RTT, " + workers + " worker processes, tasks.max=" + tasks + ", poll.interval.ms=" + intervalMs
                + ", plus one mailbox on a server that trickles a byte every 30 s");
        DovecotServer.Builder builder = DovecotServer.builder()
                .extraConfig("log_timestamp = \"%s \"")
                .extraConfig("default_vsz_limit = 0")
                .manyLogins(); // forking two processes per session was the bottleneck, not the connector
        for (int i = 0; i < mailboxes; i++) {
            builder.user(user(i), PASSWORD);
        }
        List<WorkerProcess> started = new ArrayList<>();
        try (DovecotServer dovecot = builder.build().start();
             LatencyProxy link = new LatencyProxy(dovecot.host(), dovecot.plainPort(), oneWayDelayMs);
             MisbehavingPop3Server trickler = MisbehavingPop3Server.builder().user(TRICKLER, PASSWORD).build();
             Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrapServers))) {
            trickler.start();
            trickler.deliver(Mails.numbered(1));
            trickler.trickle(30_000, MisbehavingPop3Server.ALWAYS);
            long t = System.nanoTime();
            for (int i = 0; i < mailboxes; i++) {
                List<byte[]> mails = new ArrayList<>();
                for (int m = 1; m <= mailsEach; m++) {
                    mails.add(BenchMails.text(i * mailsEach + m, 4096));
                }
                dovecot.deliver(user(i), mails);
            }
            log(String.format(Locale.ROOT, "delivered %d mails to %d mailboxes in %.1f s (not timed)",
                    mailboxes * mailsEach, mailboxes, secondsSince(t)));

            Path dir = Files.createTempDirectory("mailbridge-bench-scale-");
            Path pluginPath = WorkerProcess.installPlugin(dir);
            t = System.nanoTime();
            for (int w = 0; w < workers; w++) {
                started.add(WorkerProcess.start(dir.resolve("worker-" + w), bootstrapServers, pluginPath,
                        "bench-scale", Map.of(), List.of("-Xmx512m")));
            }
            log(String.format(Locale.ROOT, "%d worker processes up in %.1f s", workers, secondsSince(t)));

            String name = "bench-scale";
            String topic = name;
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
            TopicPartition tp = new TopicPartition(topic, 0);
            Map<String, String> config = new LinkedHashMap<>();
            config.put("connector.class", "io.mailbridge.pop3.Pop3SourceConnector");
            config.put("tasks.max", String.valueOf(tasks));
            config.put("topic", topic);
            config.put("pop3.host", dovecot.host());
            config.put("pop3.port", String.valueOf(link.port()));
            config.put("pop3.security", "none");
            config.put("pop3.password", PASSWORD);
            config.put("poll.interval.ms", String.valueOf(intervalMs));
            List<String> aliases = new ArrayList<>();
            aliases.add(TRICKLER); // first: the trickler shares the first task with the first mailboxes
            config.put("mailbox." + TRICKLER + ".pop3.host", "127.0.0.1");
            config.put("mailbox." + TRICKLER + ".pop3.port", String.valueOf(trickler.port()));
            config.put("mailbox." + TRICKLER + ".pop3.username", TRICKLER);
            for (int i = 0; i < mailboxes; i++) {
                aliases.add(user(i));
                config.put("mailbox." + user(i) + ".pop3.username", user(i));
            }
            config.put("mailboxes", String.join(",", aliases));

            int expected = mailboxes * mailsEach;
            long putStart = System.nanoTime();
            long putWallMs = System.currentTimeMillis();
            started.get(0).putConnector(name, config);
            double putSeconds = secondsSince(putStart);
            long end = -1;
            long deadline = putStart + Duration.ofMinutes(5).toNanos();
            long published = 0;
            long nextReport = System.nanoTime();
            StringBuilder timeline = new StringBuilder();
            while (System.nanoTime() < deadline) {
                published = admin.listOffsets(Map.of(tp, OffsetSpec.latest())).partitionResult(tp).get().offset();
                if (published >= expected) {
                    end = System.nanoTime();
                    break;
                }
                if (System.nanoTime() >= nextReport) {
                    timeline.append(String.format(Locale.ROOT, " %.0fs:%d/%d", secondsSince(putStart), published,
                            runningTasks(started.get(0), name)));
                    nextReport += 2_000_000_000L;
                }
                Thread.sleep(100);
            }
            double publishSeconds = end < 0 ? Double.NaN : (end - putStart) / 1e9;
            log(String.format(Locale.ROOT, "PUT answered in %.2f s; %d of %d mails published %.1f s after it"
                    + " (seconds after the PUT: records / tasks RUNNING:%s)", putSeconds, published, expected,
                    publishSeconds, timeline));

            // One idle interval: every mailbox's next poll after its first, and the workers' CPU meanwhile.
            double cpuBefore = cpuSeconds(started);
            long idleStart = System.nanoTime();
            Map<String, List<Long>> logins = Map.of();
            long idleDeadline = System.nanoTime() + Duration.ofMillis(intervalMs * 2 + 60_000).toNanos();
            while (System.nanoTime() < idleDeadline) {
                logins = logins(dovecot, putWallMs / 1000);
                if (everyMailboxPolledTwice(logins)) {
                    break;
                }
                Thread.sleep(1_000);
            }
            double idleSeconds = secondsSince(idleStart);
            double cpuIdle = cpuSeconds(started) - cpuBefore;
            Set<String> trickleTask = taskMatesOfTrickler(started.get(0), name);

            double worst = 0;
            double worstTrickle = 0;
            String worstBox = "";
            int idlePolls = 0;
            int missing = 0;
            long firstIdle = Long.MAX_VALUE;
            long lastIdle = 0;
            for (int i = 0; i < mailboxes; i++) {
                List<Long> times = logins.getOrDefault(user(i), List.of());
                if (times.size() < 2) {
                    missing++;
                    continue;
                }
                double gap = times.get(1) - times.get(0);
                idlePolls++;
                firstIdle = Math.min(firstIdle, times.get(1));
                lastIdle = Math.max(lastIdle, times.get(1));
                if (gap > worst) {
                    worst = gap;
                    worstBox = user(i);
                }
                if (trickleTask.contains(user(i))) {
                    worstTrickle = Math.max(worstTrickle, gap);
                }
            }
            double spread = Math.max(1, lastIdle - firstIdle + 1);
            String note = String.format(Locale.ROOT, "the idle round took %.0f s to watch; %d mailboxes not polled"
                            + " twice; logins read from Dovecot's log (1 s resolution); trickling mailbox in a task"
                            + " with %d others; its server saw %d sessions", idleSeconds, missing,
                    trickleTask.size(), trickler.sessions());
            Result r = new Result(mailboxes, expected, workers, tasks, 2 * oneWayDelayMs, intervalMs, putSeconds,
                    publishSeconds, missing > 0 ? Double.NaN : worst, worstTrickle, worstBox,
                    idlePolls / spread, idlePolls == 0 ? Double.NaN : cpuIdle * 1000 / idlePolls, idlePolls,
                    trickler.sessions(), note);
            log(String.format(Locale.ROOT, "scale: worst gap %.0f s (%s; in the trickler's task %.0f s; target <= %.0f"
                            + " s), %.1f sessions/s over the idle round, %.1f ms worker CPU per idle poll; %s", worst,
                    worstBox, worstTrickle, 1.1 * intervalMs / 1000, r.sessionsPerSecond, r.cpuMsPerIdlePoll, note));
            started.get(0).request("DELETE", "/connectors/" + name, null);
            return r;
        } finally {
            for (WorkerProcess w : started) {
                w.close();
            }
        }
    }

    private boolean everyMailboxPolledTwice(Map<String, List<Long>> logins) {
        for (int i = 0; i < mailboxes; i++) {
            List<Long> times = logins.get(user(i));
            if (times == null || times.size() < 2) {
                return false;
            }
        }
        return true;
    }

    /** Login times (epoch seconds) of each user since {@code sinceSeconds}, oldest first. */
    private static Map<String, List<Long>> logins(DovecotServer dovecot, long sinceSeconds) {
        Map<String, List<Long>> byUser = new HashMap<>();
        for (String line : dovecot.logLines()) {
            Matcher m = LOGIN.matcher(line);
            if (m.find()) {
                long at = Long.parseLong(m.group(1));
                if (at >= sinceSeconds) {
                    byUser.computeIfAbsent(m.group(2), u -> new ArrayList<>()).add(at);
                }
            }
        }
        return byUser;
    }

    private static int runningTasks(WorkerProcess worker, String connector) {
        try {
            int running = 0;
            for (JsonNode task : worker.status(connector).path("tasks")) {
                if ("RUNNING".equals(task.path("state").asText())) {
                    running++;
                }
            }
            return running;
        } catch (Exception e) {
            return -1;
        }
    }

    /** The mailboxes of the task that polls the trickling mailbox, from the task configs the REST API shows. */
    private static Set<String> taskMatesOfTrickler(WorkerProcess worker, String connector) throws Exception {
        JsonNode tasks = JSON.readTree(worker.request("GET", "/connectors/" + connector + "/tasks", null).body());
        for (JsonNode task : tasks) {
            JsonNode config = task.path("config");
            String boxes = config.path("mailbridge.task.mailboxes").asText(config.path("mailboxes").asText(""));
            Set<String> set = new HashSet<>(List.of(boxes.split(",")));
            if (set.remove(TRICKLER)) {
                return set;
            }
        }
        return Set.of();
    }

    /** CPU seconds (user + system) the worker processes used so far, from /proc. */
    private static double cpuSeconds(List<WorkerProcess> workers) throws Exception {
        double sum = 0;
        for (WorkerProcess w : workers) {
            String stat = Files.readString(Path.of("/proc", String.valueOf(w.pid()), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            sum += (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
        }
        return sum;
    }

    static List<String> table(List<Result> results) {
        List<String> lines = new ArrayList<>();
        lines.add("| Scale workload | Until all published | Worst gap between two polls of one mailbox | In the trickling"
                + " mailbox's task | Sessions/s (idle round) | Worker CPU per idle poll | PUT |");
        lines.add("|---|---|---|---|---|---|---|");
        for (Result r : results) {
            lines.add(String.format(Locale.ROOT, "| %d mailboxes x %d mails, %d ms RTT, %d workers, tasks.max=%d,"
                            + " poll.interval.ms=%d | %.1f s (target <= 30 s) | %.0f s (target <= %.0f s) | %.0f s |"
                            + " %.1f | %.1f ms | %.2f s |", r.mailboxes, r.mails / Math.max(1, r.mailboxes), r.rttMs,
                    r.workers, r.tasks, r.intervalMs, r.publishSeconds, r.worstGapSeconds, 1.1 * r.intervalMs / 1000,
                    r.worstGapTrickleTaskSeconds, r.sessionsPerSecond, r.cpuMsPerIdlePoll, r.putSeconds));
        }
        return lines;
    }

    private static void log(String line) {
        System.out.println("[bench] " + line);
    }

    private static double secondsSince(long nanos) {
        return (System.nanoTime() - nanos) / 1e9;
    }
}
