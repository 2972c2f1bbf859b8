package io.mailbridge.pop3.monitoring;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.mailbridge.pop3.mailbox.MailboxMetrics;
import io.mailbridge.pop3.metrics.MetricsRegistry;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.MetricValueProvider;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The monitoring files cannot rot: every mailbox metric the connector registers becomes a Prometheus metric under
 * the rules of {@code monitoring/prometheus/jmx-exporter.yml} (applied here as the JMX exporter applies them: the
 * first rule whose pattern matches the whole {@code domain<key=value, ...><>attribute} string), with the labels
 * connector, task and mailbox; and the Grafana dashboard queries only metrics those rules produce.
 * WorkerCompatibilityIT checks the real exporter against a real worker.
 */
class MonitoringConfigTest {

    private static final Path EXPORTER = Path.of("monitoring", "prometheus", "jmx-exporter.yml");
    private static final Path DASHBOARD = Path.of("monitoring", "grafana", "mailbridge-dashboard.json");
    private static final Pattern METRIC = Pattern.compile("\\bmailbridge_[a-z0-9_]+\\b");

    @Test
    void exporterRulesTurnEveryMailboxMetricIntoALabelledPrometheusMetric() throws IOException {
        Map<String, String> produced = producedMetrics();
        assertEquals(new TreeSet<>(List.of(
                "mailbridge_mailbox_backlog", "mailbridge_mailbox_bytes_total", "mailbridge_mailbox_deleted_total",
                "mailbridge_mailbox_failing", "mailbridge_mailbox_failures_total",
                "mailbridge_mailbox_last_poll_timestamp_seconds", "mailbridge_mailbox_last_success_timestamp_seconds",
                "mailbridge_mailbox_messages_total", "mailbridge_mailbox_oldest_pending_age_seconds",
                "mailbridge_mailbox_session_duration_seconds", "mailbridge_mailbox_session_open",
                "mailbridge_mailbox_sessions_total")), new TreeSet<>(produced.keySet()),
                "the metric names the README documents");
    }

    @Test
    void dashboardQueriesOnlyMetricsTheExporterProduces() throws IOException {
        Set<String> produced = producedMetrics().keySet();
        JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
        List<String> queries = new ArrayList<>();
        collectQueries(dashboard, queries);
        Set<String> queried = new TreeSet<>();
        for (String query : queries) {
            Matcher m = METRIC.matcher(query);
            while (m.find()) {
                queried.add(m.group());
            }
        }
        assertFalse(queried.isEmpty(), "the dashboard queries no Mailbridge metric: " + queries);
        for (String metric : queried) {
            assertTrue(produced.contains(metric), metric + " is queried by " + DASHBOARD + " but "
                    + EXPORTER + " produces only " + new TreeSet<>(produced));
        }
        for (String needed : List.of("mailbridge_mailbox_backlog", "mailbridge_mailbox_oldest_pending_age_seconds",
                "mailbridge_mailbox_failing", "mailbridge_mailbox_messages_total")) {
            assertTrue(queried.contains(needed), "the dashboard shows " + needed);
        }
    }

    /** Prometheus metric name -> the MBean attribute it comes from, after checking each has the three labels. */
    private static Map<String, String> producedMetrics() throws IOException {
        JsonNode config = new ObjectMapper(new YAMLFactory()).readTree(EXPORTER.toFile());
        assertTrue(config.path("lowercaseOutputName").asBoolean(), "lowercaseOutputName");
        String bean = "kafka.connect<type=plugins, connector=support-inbox, task=0, mailbox=\"me@pop.example.com:995\">";
        Map<String, String> produced = new TreeMap<>();
        for (String attribute : mailboxAttributes()) {
            String input = bean + "<>" + attribute;
            JsonNode rule = null;
            Matcher matcher = null;
            for (JsonNode r : config.path("rules")) {
                Matcher m = Pattern.compile(r.path("pattern").asText()).matcher(input);
                if (m.matches()) {
                    rule = r;
                    matcher = m;
                    break;
                }
            }
            assertNotNull(rule, "no exporter rule matches " + input);
            String name = safeName(matcher.replaceAll(rule.path("name").asText())).toLowerCase();
            Map<String, String> labels = new TreeMap<>();
            for (Map.Entry<String, JsonNode> label : rule.path("labels").properties()) {
                labels.put(label.getKey(), matcher.replaceAll(label.getValue().asText()));
            }
            assertEquals(Map.of("connector", "support-inbox", "task", "0", "mailbox", "me@pop.example.com:995"),
                    labels, "labels of " + name);
            assertFalse(produced.containsKey(name), name + " produced twice");
            produced.put(name, attribute);
        }
        return produced;
    }

    /** The JMX exporter's safeName: characters Prometheus does not allow become '_', runs of '_' one. */
    private static String safeName(String name) {
        return name.replaceAll("[^a-zA-Z0-9:_]", "_").replaceAll("__+", "_");
    }

    /** The attribute names a task registers for a mailbox, recorded from the real MailboxMetrics. */
    private static List<String> mailboxAttributes() {
        List<String> names = new ArrayList<>();
        MetricsRegistry recorder = new MetricsRegistry() {
            @Override
            public MetricName metricName(String name, String description, LinkedHashMap<String, String> tags) {
                return new MetricName(name, "plugins", description, tags);
            }

            @Override
            public void addMetric(MetricName name, MetricValueProvider<?> value) {
                names.add(name.name());
            }

            @Override
            public void removeMetric(MetricName name) {
            }
        };
        new MailboxMetrics(recorder, "me@pop.example.com:995").close();
        assertEquals(12, names.size(), "README \"Metrics\" documents 12 per-mailbox metrics: " + names);
        return names;
    }

    private static void collectQueries(JsonNode node, List<String> out) {
        if (node.isObject()) {
            node.fields().forEachRemaining(e -> {
                if ((e.getKey().equals("expr") || e.getKey().equals("query")) && e.getValue().isTextual()) {
                    out.add(e.getValue().asText());
                } else {
                    collectQueries(e.getValue(), out);
                }
            });
        } else if (node.isArray()) {
            node.forEach(n -> collectQueries(n, out));
        }
    }
}
