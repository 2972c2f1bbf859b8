package io.mailbridge.pop3.metrics;

import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.MetricValueProvider;
import org.apache.kafka.common.metrics.PluginMetrics;
import org.apache.kafka.connect.source.SourceTaskContext;

import java.util.LinkedHashMap;

/**
 * The task's plugin metrics of a Kafka 4.1+ worker. Only this class names {@link PluginMetrics}, so an older worker,
 * whose kafka-clients lacks that type, never has to resolve it.
 */
public final class WorkerPluginMetrics implements MetricsRegistry {

    private final PluginMetrics pluginMetrics;

    private WorkerPluginMetrics(PluginMetrics pluginMetrics) {
        this.pluginMetrics = pluginMetrics;
    }

    /** Plugin metrics made elsewhere (tests and benchmarks make their own). */
    public static MetricsRegistry wrap(PluginMetrics pluginMetrics) {
        return new WorkerPluginMetrics(pluginMetrics);
    }

    /** @throws LinkageError on a worker older than Kafka 4.1 */
    static WorkerPluginMetrics of(SourceTaskContext context) {
        return new WorkerPluginMetrics(context.pluginMetrics());
    }

    @Override
    public MetricName metricName(String name, String description, LinkedHashMap<String, String> tags) {
        return pluginMetrics.metricName(name, description, tags);
    }

    @Override
    public void addMetric(MetricName name, MetricValueProvider<?> value) {
        pluginMetrics.addMetric(name, value);
    }

    @Override
    public void removeMetric(MetricName name) {
        pluginMetrics.removeMetric(name);
    }
}
