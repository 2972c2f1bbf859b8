package io.mailbridge.pop3.bench;

import com.sun.tools.attach.VirtualMachine;

import javax.management.MBeanServerConnection;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Heap use of another JVM on this machine, through the attach API and JMX: samples the used heap every
 * {@code periodMs} and keeps the highest value, and reads the pools' own peak counters (which also catch a peak
 * between two samples, summed over the pools, so an upper bound).
 */
final class HeapSampler implements AutoCloseable {

    private final JMXConnector connector;
    private final MBeanServerConnection server;
    private final MemoryMXBean memory;
    private final List<MemoryPoolMXBean> heapPools;
    private final AtomicLong max = new AtomicLong();
    private final Thread thread;
    private volatile boolean running = true;

    HeapSampler(long pid, long periodMs) throws Exception {
        VirtualMachine vm = VirtualMachine.attach(Long.toString(pid));
        String url;
        try {
            url = vm.startLocalManagementAgent();
        } finally {
            vm.detach();
        }
        connector = JMXConnectorFactory.connect(new JMXServiceURL(url));
        server = connector.getMBeanServerConnection();
        memory = ManagementFactory.newPlatformMXBeanProxy(server, ManagementFactory.MEMORY_MXBEAN_NAME,
                MemoryMXBean.class);
        heapPools = ManagementFactory.getPlatformMXBeans(server, MemoryPoolMXBean.class).stream()
                .filter(p -> p.getType() == MemoryType.HEAP).toList();
        thread = new Thread(() -> {
            while (running) {
                try {
                    long used = memory.getHeapMemoryUsage().getUsed();
                    max.accumulateAndGet(used, Math::max);
                    Thread.sleep(periodMs);
                } catch (InterruptedException e) {
                    return;
                } catch (Exception e) {
                    return; // the worker went away
                }
            }
        }, "heap-sampler-" + pid);
        thread.setDaemon(true);
        thread.start();
    }

    /** The other JVM's MBean server, to read its metrics. */
    MBeanServerConnection server() {
        return server;
    }

    /** Used heap right after two full collections asked for over JMX, in bytes: what is live. */
    long usedAfterFullGc() {
        memory.gc();
        memory.gc();
        return memory.getHeapMemoryUsage().getUsed();
    }

    /** Starts a new measurement: forgets the maximum and resets the pools' peak counters. */
    void reset() {
        max.set(0);
        for (MemoryPoolMXBean pool : heapPools) {
            try {
                pool.resetPeakUsage();
            } catch (Exception e) {
                // best effort
            }
        }
    }

    /** Highest used heap seen by sampling since {@link #reset()}, in bytes. */
    long sampledPeak() {
        return max.get();
    }

    /** Sum of the heap pools' peak usage since {@link #reset()}, in bytes: an upper bound of the real peak. */
    long poolPeakSum() {
        long sum = 0;
        for (MemoryPoolMXBean pool : heapPools) {
            try {
                sum += pool.getPeakUsage().getUsed();
            } catch (Exception e) {
                // best effort
            }
        }
        return sum;
    }

    @Override
    public void close() throws Exception {
        running = false;
        thread.interrupt();
        thread.join(1000);
        connector.close();
    }
}
