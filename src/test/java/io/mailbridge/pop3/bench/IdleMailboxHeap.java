package io.mailbridge.pop3.bench;

import io.mailbridge.pop3.Pop3SourceConnectorConfig;
import io.mailbridge.pop3.config.MailboxSettings;
import io.mailbridge.pop3.mailbox.MailboxMetrics;
import io.mailbridge.pop3.mailbox.MailboxPoller;
import io.mailbridge.pop3.mailbox.PollerOptions;
import io.mailbridge.pop3.record.MessageMapper;
import org.apache.kafka.common.metrics.JmxReporter;
import org.apache.kafka.common.metrics.MetricConfig;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.metrics.internals.PluginMetricsImpl;
import org.apache.kafka.common.utils.Time;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * What the connector's own objects cost per idle mailbox, in this JVM, without a worker: the parsed config, the
 * pollers, and the per-mailbox metrics in a real {@link Metrics} registry with the JMX reporter (as the worker's
 * plugin metrics are). Each step is measured as the heap used after a full GC, divided by the mailbox count; a
 * class histogram of the end state follows. For finding what to make smaller; the benchmark's "scale10k" row
 * measures the whole worker.
 *
 * <pre>java -cp target/classes:target/test-classes:$(cat cp.txt) io.mailbridge.pop3.bench.IdleMailboxHeap 10000</pre>
 */
public final class IdleMailboxHeap {

    private IdleMailboxHeap() {
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        Map<String, String> props = new LinkedHashMap<>();
        props.put("topic", "mail");
        props.put("pop3.host", "127.0.0.1");
        props.put("pop3.port", "110");
        props.put("pop3.security", "none");
        props.put("pop3.password", "shared");
        StringJoiner aliases = new StringJoiner(",");
        for (int i = 0; i < n; i++) {
            aliases.add(String.format("mbx%05d", i));
        }
        props.put("mailboxes", aliases.toString());
        for (int i = 0; i < n; i++) {
            props.put(String.format("mailbox.mbx%05d.pop3.username", i), "user" + i);
        }
        long base = used();
        Pop3SourceConnectorConfig config = new Pop3SourceConnectorConfig(props);
        List<MailboxSettings> mailboxes = config.mailboxes();
        long afterConfig = used();
        report("config (props map and parsed values included)", afterConfig - base, n);

        Metrics metrics = new Metrics(new MetricConfig(), List.of(new JmxReporter()), Time.SYSTEM);
        Map<String, String> tags = new LinkedHashMap<>();
        tags.put("config", "connector");
        tags.put("class", "Pop3SourceTask");
        tags.put("connector", "bench");
        tags.put("task", "0");
        io.mailbridge.pop3.metrics.MetricsRegistry pluginMetrics =
                io.mailbridge.pop3.metrics.WorkerPluginMetrics.wrap(new PluginMetricsImpl(metrics, tags));
        long beforeMetrics = used();
        List<MailboxMetrics> registered = new ArrayList<>();
        for (MailboxSettings m : mailboxes) {
            registered.add(new MailboxMetrics(pluginMetrics, m.id(), true));
        }
        long afterRegistered = used();
        report("MailboxMetrics, registered (metrics.per.mailbox.max >= mailboxes)", afterRegistered - beforeMetrics, n);
        registered.forEach(MailboxMetrics::close);
        registered.clear();
        long beforeLazy = used();
        List<MailboxMetrics> mailboxMetrics = new ArrayList<>();
        for (MailboxSettings m : mailboxes) {
            mailboxMetrics.add(new MailboxMetrics(pluginMetrics, m.id(), false));
        }
        new io.mailbridge.pop3.mailbox.TaskMetrics(pluginMetrics, mailboxMetrics);
        long afterMetrics = used();
        report("MailboxMetrics, registered only while failing, + task totals", afterMetrics - beforeLazy, n);

        PollerOptions options = PollerOptions.from(config);
        List<MailboxPoller> pollers = new ArrayList<>();
        for (int i = 0; i < mailboxes.size(); i++) {
            pollers.add(new MailboxPoller(mailboxes.get(i), options,
                    new MessageMapper(config.attachments(), config.includeRaw()), null, mailboxMetrics.get(i)));
        }
        long afterPollers = used();
        report("MailboxPoller (state, login, backoffs)", afterPollers - afterMetrics, n);
        report("all of it (with metrics registered only while failing)", afterPollers - base
                - (beforeLazy - beforeMetrics), n);
        if (args.length > 1) {
            Process p = new ProcessBuilder("jcmd", String.valueOf(ProcessHandle.current().pid()), "GC.class_histogram")
                    .redirectErrorStream(true).start();
            List<String> lines = new String(p.getInputStream().readAllBytes()).lines().toList();
            lines.stream().limit(Integer.parseInt(args[1]) + 3).forEach(System.out::println);
        }
        System.out.println(pollers.size() + " " + mailboxMetrics.size() + " " + config.topic());
    }

    private static void report(String what, long bytes, int n) {
        System.out.printf("%-50s %8.0f bytes per mailbox (%d KB for %d)%n", what, (double) bytes / n, bytes / 1024, n);
    }

    private static long used() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
