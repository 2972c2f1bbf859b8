package io.mailbridge.pop3.metrics;

import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.MetricValueProvider;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * A group of metrics one task copy registers in a {@link MetricsRegistry} and removes together. A name an abandoned
 * copy of the task still holds (the worker gave up on its stop, e.g. during a broker outage) is kept aside and
 * registered by {@link #retryPending()} once that copy has closed: metrics never fail a task.
 */
public final class RegisteredMetrics {

    private final MetricsRegistry registry;
    private final List<MetricName> names;
    /** Held elsewhere when added; null while none are. */
    private LinkedHashMap<MetricName, MetricValueProvider<?>> pending;
    private volatile boolean anyPending;

    public RegisteredMetrics(MetricsRegistry registry, int expected) {
        this.registry = registry;
        this.names = new ArrayList<>(expected);
    }

    public synchronized void add(MetricName name, MetricValueProvider<?> value) {
        if (registry.tryAdd(name, value)) {
            names.add(name);
        } else {
            if (pending == null) {
                pending = new LinkedHashMap<>();
            }
            pending.put(name, value);
            anyPending = true;
        }
    }

    /** Registers what was held elsewhere when added, once it is free; cheap when nothing is pending. */
    public void retryPending() {
        if (!anyPending) {
            return;
        }
        synchronized (this) {
            if (pending == null) {
                return;
            }
            pending.entrySet().removeIf(e -> {
                if (registry.tryAdd(e.getKey(), e.getValue())) {
                    names.add(e.getKey());
                    return true;
                }
                return false;
            });
            if (pending.isEmpty()) {
                pending = null;
                anyPending = false;
            }
        }
    }

    /** Removes every metric this group registered; those still pending are forgotten. */
    public synchronized void removeAll() {
        for (MetricName name : names) {
            registry.tryRemove(name);
        }
        names.clear();
        pending = null;
        anyPending = false;
    }
}
