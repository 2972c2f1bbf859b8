package io.mailbridge.pop3.testing;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.transforms.Transformation;

import java.util.Map;

/**
 * A test SMT that drops the records whose subject contains a text ({@code subject.contains}), as a user's filter
 * would: the worker then reports them to {@code commitRecord} with null metadata.
 */
public final class DropSubjectContaining implements Transformation<SourceRecord> {

    private String needle;

    @Override
    public void configure(Map<String, ?> configs) {
        needle = String.valueOf(configs.get("subject.contains"));
    }

    @Override
    public SourceRecord apply(SourceRecord record) {
        Object value = record.value();
        if (value instanceof Struct s) {
            String subject = s.getString("subject");
            if (subject != null && subject.contains(needle)) {
                return null;
            }
        }
        return record;
    }

    @Override
    public ConfigDef config() {
        return new ConfigDef().define("subject.contains", ConfigDef.Type.STRING, ConfigDef.Importance.HIGH,
                "Records whose subject contains this text are dropped.");
    }

    @Override
    public void close() {
    }
}
