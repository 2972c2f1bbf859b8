package io.mailbridge.pop3.config;

import org.apache.kafka.common.config.ConfigDef;

import java.util.List;
import java.util.Map;

/**
 * Lists the values of {@code pop3.security}, and hides the TLS keys while security is {@code none}.
 */
public final class SecurityRecommender implements ConfigDef.Recommender {

    private final String securityKey;

    /** @param securityKey the key this one depends on, or null for the security key itself */
    public SecurityRecommender(String securityKey) {
        this.securityKey = securityKey;
    }

    @Override
    public List<Object> validValues(String name, Map<String, Object> parsedConfig) {
        if (securityKey == null) {
            return List.of(Security.TLS.configValue(), Security.STARTTLS.configValue(), Security.NONE.configValue());
        }
        return List.of();
    }

    @Override
    public boolean visible(String name, Map<String, Object> parsedConfig) {
        if (securityKey == null) {
            return true;
        }
        Object value = parsedConfig.get(securityKey);
        return value == null || !Security.NONE.configValue().equalsIgnoreCase(value.toString().trim());
    }
}
