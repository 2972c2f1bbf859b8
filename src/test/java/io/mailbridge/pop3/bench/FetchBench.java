package io.mailbridge.pop3.bench;

import io.mailbridge.pop3.client.Pop3Client;
import io.mailbridge.pop3.client.Pop3ClientSettings;
import io.mailbridge.pop3.client.UidlEntry;
import io.mailbridge.pop3.config.AttachmentMode;
import io.mailbridge.pop3.config.Security;
import io.mailbridge.pop3.record.MessageMapper;
import io.mailbridge.pop3.testing.DovecotServer;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The fetch half of the connector without Kafka: the raw reader, then Mailbridge's {@link Pop3Client} streaming
 * every message into a reused buffer (as the poller does), then the same plus {@link MessageMapper}, against one
 * Dovecot mailbox. Separates the wire client's cost from MIME mapping and from the worker. A profiling aid.
 *
 * <p>Arguments: {@code [count] [size] [window] [rounds]}, default {@code 10000 4096 500 3}. Run like
 * {@link CodecBench} (needs root and Dovecot, like {@link DovecotServer}).
 */
public final class FetchBench {

    private FetchBench() {
    }

    public static void main(String[] args) throws Exception {
        int count = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int size = args.length > 1 ? Integer.parseInt(args[1]) : 4096;
        int window = args.length > 2 ? Integer.parseInt(args[2]) : 500;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        try (DovecotServer dovecot = DovecotServer.builder().user("fetch", "pw").build().start()) {
            List<byte[]> mails = new ArrayList<>();
            for (int i = 1; i <= count; i++) {
                mails.add(size >= 64 * 1024 ? BenchMails.attachment(i, size) : BenchMails.text(i, size));
            }
            dovecot.deliver("fetch", mails);
            mails.clear();
            RawPop3Reader raw = new RawPop3Reader(dovecot.host(), dovecot.plainPort(), null, "fetch", "pw", 500);
            raw.readAll(); // Dovecot builds its index
            Pop3ClientSettings settings = Pop3ClientSettings.builder().host(dovecot.host()).port(dovecot.plainPort())
                    .security(Security.NONE).mailboxId("fetch").build();
            MessageMapper mapper = new MessageMapper(AttachmentMode.METADATA, false);
            for (int round = 0; round < rounds; round++) {
                CpuMeter m = new CpuMeter();
                RawPop3Reader.Result r = raw.readAll();
                report("raw", count, m.stop());
                m = new CpuMeter();
                fetch(settings, window, null);
                report("client", count, m.stop());
                m = new CpuMeter();
                fetch(settings, window, mapper);
                report("client+map", count, m.stop());
                if (r.messages() != count) {
                    throw new IllegalStateException("raw saw " + r.messages());
                }
            }
        }
    }

    private static void report(String what, int count, CpuMeter.Usage u) {
        System.out.printf(Locale.ROOT, "%-11s %6.3f s wall  %8.0f msg/s   %s%n", what, u.wallSeconds(),
                count / u.wallSeconds(), u.describe(count));
    }

    private static void fetch(Pop3ClientSettings settings, int window, MessageMapper mapper) throws Exception {
        try (Pop3Client client = Pop3Client.connect(settings)) {
            client.login("fetch", "pw");
            List<UidlEntry> uidl = client.uidl();
            client.list();
            int[] numbers = new int[uidl.size()];
            for (int i = 0; i < numbers.length; i++) {
                numbers[i] = uidl.get(i).number();
            }
            byte[][] buf = {new byte[64 * 1024]};
            long[] total = {0};
            client.retrieve(numbers, window, (number, body) -> {
                int length = readAll(body, buf);
                total[0] += length;
                if (mapper != null) {
                    mapper.map("fetch", Integer.toString(number), buf[0], length, length, false);
                }
            });
            client.quit();
        }
    }

    private static int readAll(InputStream in, byte[][] holder) throws java.io.IOException {
        byte[] buf = holder[0];
        int length = 0;
        while (true) {
            if (length == buf.length) {
                buf = java.util.Arrays.copyOf(buf, buf.length * 2);
                holder[0] = buf;
            }
            int n = in.read(buf, length, buf.length - length);
            if (n < 0) {
                return length;
            }
            length += n;
        }
    }
}
