package io.mailbridge.pop3.metrics;

import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.JmxReporter;
import org.apache.kafka.common.metrics.KafkaMetricsContext;
import org.apache.kafka.common.metrics.MetricConfig;
import org.apache.kafka.common.metrics.MetricValueProvider;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.utils.Time;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-mailbox metrics in JMX on workers older than Kafka 4.1, which have no plugin metrics: the connector's own
 * {@link Metrics} with a {@link JmxReporter}, registering exactly the MBeans a 4.1+ worker registers for plugin
 * metrics ({@code kafka.connect:type=plugins,connector=<name>,task=<id>,...}).
 *
 * <p>One registry per worker JVM, shared by its tasks, as the worker's own is: a task the worker abandoned and a new
 * instance of it then hand over a metric by name, never through two reporters that unregister each other's MBeans.
 */
final class ConnectorJmxMetrics implements MetricsRegistry {

    /** What Kafka Connect's own metrics use: {@code ConnectMetrics.JMX_PREFIX}. */
    static final String JMX_PREFIX = "kafka.connect";
    /** The group of plugin metrics: {@code PluginMetricsImpl}. */
    static final String GROUP = "plugins";

    private static Metrics shared;

    private final Map<String, String> taskTags = new LinkedHashMap<>();

    ConnectorJmxMetrics(String connector, int task) {
        taskTags.put("connector", connector);
        taskTags.put("task", String.valueOf(task));
    }

    private static synchronized Metrics metrics() {
        if (shared == null) {
            JmxReporter reporter = new JmxReporter();
            // only our plugin MBeans: the registry's own kafka-metrics-count would replace the worker's MBean
            reporter.configure(Map.of("metrics.jmx.include", JMX_PREFIX.replace(".", "\\.") + ":type=" + GROUP + ",.*"));
            shared = new Metrics(new MetricConfig(), List.of(reporter), Time.SYSTEM,
                    new KafkaMetricsContext(JMX_PREFIX));
        }
        return shared;
    }

    @Override
    public MetricName metricName(String name, String description, LinkedHashMap<String, String> tags) {
        LinkedHashMap<String, String> all = new LinkedHashMap<>(taskTags);
        for (Map.Entry<String, String> tag : tags.entrySet()) {
            if (all.containsKey(tag.getKey())) {
                throw new IllegalArgumentException("Cannot use " + tag.getKey() + " as a tag name");
            }
            all.put(tag.getKey(), tag.getValue());
        }
        return metrics().metricName(name, GROUP, description, all);
    }

    @Override
    public void addMetric(MetricName name, MetricValueProvider<?> value) {
        metrics().addMetric(name, value);
    }

    @Override
    public void removeMetric(MetricName name) {
        metrics().removeMetric(name);
    }
}
