package io.mailbridge.pop3.metrics;

import io.mailbridge.pop3.mailbox.MailboxMetrics;
import org.junit.jupiter.api.Test;

import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The JMX registry for workers without plugin metrics: the MBean names a Kafka 4.1+ worker gives plugin metrics. */
class ConnectorJmxMetricsTest {

    private final MBeanServer mbs = ManagementFactory.getPlatformMBeanServer();

    @Test
    void registersMailboxMetricsUnderThePluginMetricsMBeanNameAndRemovesThemOnClose() throws Exception {
        ObjectName expected = new ObjectName(
                "kafka.connect:type=plugins,connector=support-inbox,task=3,mailbox=\"me@pop.example.com:995\"");
        MailboxMetrics metrics = new MailboxMetrics(new ConnectorJmxMetrics("support-inbox", 3),
                "me@pop.example.com:995");
        try {
            assertTrue(mbs.isRegistered(expected));
            assertEquals(expected.toString(), mbs.queryNames(expected, null).iterator().next().toString(),
                    "key order connector, task, mailbox, as the exporter patterns expect");
            assertEquals(0L, mbs.getAttribute(expected, "backlog"));
            assertEquals(12, mbs.getMBeanInfo(expected).getAttributes().length);
        } finally {
            metrics.close();
        }
        assertFalse(mbs.isRegistered(expected));
    }

    @Test
    void leavesTheWorkersOwnMetricsCountMBeanAlone() throws Exception {
        MailboxMetrics metrics = new MailboxMetrics(new ConnectorJmxMetrics("c", 0), "box");
        try {
            assertFalse(mbs.isRegistered(new ObjectName("kafka.connect:type=kafka-metrics-count")));
        } finally {
            metrics.close();
        }
    }

    @Test
    void registersAgainWhileAnAbandonedInstanceOfTheTaskHoldsTheNames() throws Exception {
        ObjectName name = new ObjectName("kafka.connect:type=plugins,connector=c,task=0,mailbox=taken");
        MailboxMetrics abandoned = new MailboxMetrics(new ConnectorJmxMetrics("c", 0), "taken");
        MailboxMetrics current = new MailboxMetrics(new ConnectorJmxMetrics("c", 0), "taken");
        try {
            assertTrue(mbs.isRegistered(name));
        } finally {
            current.close();
            abandoned.close();
        }
        assertFalse(mbs.isRegistered(name));
    }
}
