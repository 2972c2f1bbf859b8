package io.mailbridge.pop3.bench;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * CPU spent during a measured interval, split into this JVM (broker, worker, raw reader), the processes it
 * started (Dovecot and its login and pop3 processes, a worker process) and everything else on the machine (other
 * people's builds and tests), from {@code /proc}. On a shared machine the last share says how much the wall-clock
 * figures were disturbed.
 */
final class CpuMeter {

    private static final double TICK = 100.0; // USER_HZ; 100 on every Linux this runs on
    private static final int CORES = Runtime.getRuntime().availableProcessors();

    private final long wallStart = System.nanoTime();
    private final double machineStart = machineBusySeconds();
    private final double selfStart = selfSeconds();
    private final double childrenStart = childrenSeconds();

    /** CPU seconds of each kind, and the wall time, since this meter was created. */
    record Usage(double wallSeconds, double selfSeconds, double childrenSeconds, double otherSeconds) {

        /** Share of the machine's CPU capacity used by processes that are not part of the benchmark. */
        double otherShare() {
            return wallSeconds <= 0 ? 0 : otherSeconds / (wallSeconds * CORES);
        }

        String describe(int messages) {
            return String.format(Locale.ROOT, "CPU %.2f s in this JVM (%.0f us/msg), %.2f s in Dovecot and "
                            + "child processes, other processes took %.0f%% of the %d cores", selfSeconds,
                    selfSeconds * 1e6 / Math.max(1, messages), childrenSeconds, 100 * otherShare(), CORES);
        }
    }

    Usage stop() {
        double wall = (System.nanoTime() - wallStart) / 1e9;
        double self = selfSeconds() - selfStart;
        double children = childrenSeconds() - childrenStart;
        double machine = machineBusySeconds() - machineStart;
        return new Usage(wall, self, children, Math.max(0, machine - self - children));
    }

    static double selfSeconds() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime() / 1e9;
        }
        return 0;
    }

    /**
     * Live descendants' own CPU plus what they collected from children that ended (Dovecot's master reaps its
     * short-lived pop3 processes, so their CPU shows up in its cutime).
     */
    static double childrenSeconds() {
        double total = 0;
        for (ProcessHandle p : ProcessHandle.current().descendants().toList()) {
            total += procSeconds(p.pid(), true);
        }
        return total;
    }

    private static double procSeconds(long pid, boolean withReapedChildren) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // fields after the name, 0-based: state=0 ... utime=11 stime=12 cutime=13 cstime=14
            double ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
            if (withReapedChildren) {
                ticks += Long.parseLong(f[13]) + Long.parseLong(f[14]);
            }
            return ticks / TICK;
        } catch (Exception e) {
            return 0; // gone meanwhile
        }
    }

    /** Busy CPU seconds of the whole machine (all cores) since boot. */
    static double machineBusySeconds() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/stat"));
            String[] f = lines.get(0).trim().split("\\s+");
            long busy = 0;
            for (int i = 1; i < f.length && i <= 8; i++) {
                if (i != 4 && i != 5) { // idle, iowait
                    busy += Long.parseLong(f[i]);
                }
            }
            return busy / TICK;
        } catch (Exception e) {
            return 0;
        }
    }
}
