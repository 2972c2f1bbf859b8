package io.mailbridge.pop3.bench;

import io.mailbridge.pop3.config.AttachmentMode;
import io.mailbridge.pop3.record.MessageMapper;
import io.mailbridge.pop3.record.MessageSchema;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.json.JsonConverter;

import java.util.Locale;
import java.util.Map;

/**
 * CPU per message of the two steps the Connect task thread runs for every mail besides the wire: Mailbridge's
 * {@link MessageMapper} (MIME parse and Struct) and the worker's JsonConverter (schemas off), in isolation, on
 * the benchmark's mails. A profiling aid: run it under JFR to see where a record's CPU goes.
 *
 * <pre>
 * mvn -q test-compile dependency:build-classpath -Dmdep.outputFile=cp.txt -Dmdep.includeScope=test
 * java -cp target/test-classes:target/classes:$(cat cp.txt) io.mailbridge.pop3.bench.CodecBench [seconds]
 * </pre>
 * Times are thread CPU time, so other processes on a shared machine disturb them less than wall time.
 */
public final class CodecBench {

    private CodecBench() {
    }

    public static void main(String[] args) {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 5;
        MessageMapper mapper = new MessageMapper(AttachmentMode.METADATA, false);
        JsonConverter json = new JsonConverter();
        json.configure(Map.of("schemas.enable", "false"), false);
        byte[][] mails = new byte[64][];
        for (int i = 0; i < mails.length; i++) {
            mails[i] = BenchMails.text(i, 4096);
        }
        byte[] big = BenchMails.attachment(1, 1024 * 1024);
        for (int round = 0; round < 3; round++) {
            run("4k map", seconds / 3, i -> mapper.map("bench", "uid" + i, mails[i & 63], mails[i & 63].length,
                    mails[i & 63].length, false));
            Struct s = mapper.map("bench", "uid", mails[0], mails[0].length, mails[0].length, false);
            run("4k json", seconds / 3, i -> json.fromConnectData("t", MessageSchema.VALUE, s));
            run("1m map", seconds / 3, i -> mapper.map("bench", "uid" + i, big, big.length, big.length, false));
        }
    }

    private static void run(String what, double seconds, java.util.function.IntFunction<Object> step) {
        // Thread CPU time, not wall time: other processes on the machine do not count against a step.
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long end = System.nanoTime() + (long) (seconds * 1e9);
        long start = threads.getCurrentThreadCpuTime();
        long wallStart = System.nanoTime();
        int n = 0;
        Object sink = null;
        while ((n & 63) != 0 || System.nanoTime() < end) {
            sink = step.apply(n++);
        }
        double us = (threads.getCurrentThreadCpuTime() - start) / 1e3 / n;
        double wall = (System.nanoTime() - wallStart) / 1e3 / n;
        System.out.printf(Locale.ROOT, "%-8s %9.2f us CPU/op, %9.2f us wall/op (%d ops)%s%n", what, us, wall, n,
                sink == null ? "!" : "");
    }
}
