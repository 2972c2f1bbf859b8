package io.mailbridge.pop3.metrics;

import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.MetricValueProvider;
import org.apache.kafka.connect.source.SourceTaskContext;

import java.util.LinkedHashMap;

/**
 * Where a task registers its per-mailbox metrics. On a Kafka 4.1+ worker that is the task's plugin metrics (KIP-877);
 * an older worker has none, so the connector registers the same metrics in JMX itself, under the MBean names a 4.1+
 * worker would use ({@code kafka.connect:type=plugins,connector=<name>,task=<id>,<tags>}), so one JMX exporter
 * config fits every worker version.
 */
public interface MetricsRegistry {

    /** A metric name carrying the task's own tags ({@code connector}, {@code task}) followed by {@code tags}. */
    MetricName metricName(String name, String description, LinkedHashMap<String, String> tags);

    /** @throws IllegalArgumentException when the name is registered already */
    void addMetric(MetricName name, MetricValueProvider<?> value);

    void removeMetric(MetricName name);

    /**
     * The worker's plugin metrics when it has them, else the connector's own JMX registry.
     *
     * @param connector the connector's name, as the worker's plugin metrics tag it
     * @param task      the task's number within the connector
     */
    static MetricsRegistry forTask(SourceTaskContext context, String connector, int task) {
        try {
            return WorkerPluginMetrics.of(context);
        } catch (LinkageError | UnsupportedOperationException olderThan41) {
            // SourceTaskContext.pluginMetrics() (and the PluginMetrics type) came with Kafka 4.1
            return new ConnectorJmxMetrics(connector, task);
        }
    }
}
