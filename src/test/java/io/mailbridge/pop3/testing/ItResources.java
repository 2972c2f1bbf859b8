package io.mailbridge.pop3.testing;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * What one integration test creates on a shared worker and must take down after it: connectors (deleted) and
 * servers or proxies (closed, newest first). Call {@link #close()} from {@code @AfterEach}.
 */
public final class ItResources implements AutoCloseable {

    private final Supplier<ConnectCluster> cluster;
    private final List<String> connectors = new ArrayList<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();

    public ItResources(Supplier<ConnectCluster> cluster) {
        this.cluster = cluster;
    }

    /** Creates (or updates) a connector that {@link #close()} deletes. */
    public void connector(String name, Map<String, String> config) {
        if (!connectors.contains(name)) {
            connectors.add(name);
        }
        cluster.get().createConnector(name, config);
    }

    /** Starts a POP3 server that {@link #close()} stops. */
    public MisbehavingPop3Server started(MisbehavingPop3Server.Builder builder) {
        return add(builder.build()).start();
    }

    public <T extends AutoCloseable> T add(T closeable) {
        closeables.add(closeable);
        return closeable;
    }

    @Override
    public void close() {
        for (String name : connectors) {
            try {
                cluster.get().connect().deleteConnector(name);
            } catch (RuntimeException e) {
                // already gone
            }
        }
        connectors.clear();
        List<AutoCloseable> reversed = new ArrayList<>(closeables);
        Collections.reverse(reversed);
        for (AutoCloseable c : reversed) {
            try {
                c.close();
            } catch (Exception e) {
                // best effort: the next test gets fresh ones
            }
        }
        closeables.clear();
    }
}
