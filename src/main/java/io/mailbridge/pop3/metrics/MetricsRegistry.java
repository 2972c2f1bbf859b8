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
     * Adds the metric, taking the name over from an earlier copy of the task when the registry allows it. Never
     * throws: a worker that abandoned a task copy (its stop timed out) may still hold the name in a registry this
     * copy cannot remove it from; metrics must not fail a task, so that case answers false and the caller tries
     * again later, once the old copy has closed.
     *
     * @return whether the metric is registered now
     */
    default boolean tryAdd(MetricName name, MetricValueProvider<?> value) {
        try {
            addMetric(name, value);
            return true;
        } catch (RuntimeException alreadyRegistered) {
            try {
                removeMetric(name);
                addMetric(name, value);
                return true;
            } catch (RuntimeException heldElsewhere) {
                return false;
            }
        }
    }

    /** Removes the metric if this registry holds it; never throws. */
    default void tryRemove(MetricName name) {
        try {
            removeMetric(name);
        } catch (RuntimeException notHeld) {
            // taken over by a newer copy of the task, or never registered
        }
    }

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
