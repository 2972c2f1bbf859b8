package io.mailbridge.pop3.bench;

import io.mailbridge.pop3.config.AttachmentMode;
import io.mailbridge.pop3.offset.OffsetKeys;
import io.mailbridge.pop3.record.MessageMapper;
import io.mailbridge.pop3.record.MessageSchema;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.header.ConnectHeaders;
import org.apache.kafka.connect.source.SourceConnector;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.SourceTask;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Connect pipeline's own ceiling for the benchmark: a source connector that emits {@code count} ready-made
 * records shaped and sized like Mailbridge's (the same schema, mapped once from a bench mail of {@code size} bytes,
 * with a new uid, key and offset each), as fast as the worker takes them. What it reaches is what the worker, the
 * converter and the broker can carry on this machine; Mailbridge cannot beat it.
 */
public final class CeilingSourceConnector extends SourceConnector {

    private Map<String, String> props;

    @Override
    public void start(Map<String, String> props) {
        this.props = props;
    }

    @Override
    public Class<? extends Task> taskClass() {
        return CeilingTask.class;
    }

    @Override
    public List<Map<String, String>> taskConfigs(int maxTasks) {
        return List.of(props);
    }

    @Override
    public void stop() {
    }

    @Override
    public ConfigDef config() {
        return new ConfigDef()
                .define("topic", ConfigDef.Type.STRING, ConfigDef.Importance.HIGH, "Target topic.")
                .define("count", ConfigDef.Type.INT, ConfigDef.Importance.HIGH, "Records to emit.")
                .define("size", ConfigDef.Type.INT, 4096, ConfigDef.Importance.HIGH, "Bench mail size.")
                .define("attachment", ConfigDef.Type.BOOLEAN, false, ConfigDef.Importance.LOW,
                        "Shape the records like mail with one base64 attachment.");
    }

    @Override
    public String version() {
        return "bench";
    }

    /** Emits the records in batches of 2,000, like Mailbridge's poll(). */
    public static final class CeilingTask extends SourceTask {

        private String topic;
        private int count;
        private int sent;
        private Struct template;

        @Override
        public String version() {
            return "bench";
        }

        @Override
        public void start(Map<String, String> props) {
            topic = props.get("topic");
            count = Integer.parseInt(props.get("count"));
            int size = Integer.parseInt(props.getOrDefault("size", "4096"));
            byte[] mail = Boolean.parseBoolean(props.getOrDefault("attachment", "false"))
                    ? BenchMails.attachment(0, size) : BenchMails.text(0, size);
            template = new MessageMapper(AttachmentMode.METADATA, false).map("ceiling", "u0", mail, mail.length,
                    mail.length, false);
        }

        @Override
        public List<SourceRecord> poll() throws InterruptedException {
            if (sent >= count) {
                Thread.sleep(200);
                return null;
            }
            int n = Math.min(2_000, count - sent);
            List<SourceRecord> out = new ArrayList<>(n);
            Map<String, Object> partition = OffsetKeys.partition("ceiling");
            for (int i = 0; i < n; i++) {
                String uid = String.format("%016x", sent + i);
                Struct value = new Struct(MessageSchema.VALUE);
                for (Field f : MessageSchema.VALUE.fields()) {
                    value.put(f, template.get(f));
                }
                value.put(MessageSchema.FIELD_UID, uid);
                Map<String, Object> offset = new LinkedHashMap<>();
                offset.put(OffsetKeys.UIDL, uid);
                ConnectHeaders headers = new ConnectHeaders();
                headers.addString("mailbridge.mailbox", "ceiling");
                headers.addString("mailbridge.uid", uid);
                out.add(new SourceRecord(partition, offset, topic, null, Schema.STRING_SCHEMA, "ceiling/" + uid,
                        MessageSchema.VALUE, value, null, headers));
            }
            sent += n;
            return out;
        }

        @Override
        public void stop() {
        }
    }
}
