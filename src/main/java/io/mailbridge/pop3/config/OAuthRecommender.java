package io.mailbridge.pop3.config;

import org.apache.kafka.common.config.ConfigDef;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Lists the values of {@code pop3.oauth.grant}, and shows each OAuth key only for the grants that use it. */
public final class OAuthRecommender implements ConfigDef.Recommender {

    private final String grantKey;
    private final Set<OAuthGrant> grants;

    /** @param grantKey the key this one depends on, or null for the grant key itself */
    public OAuthRecommender(String grantKey, OAuthGrant... grants) {
        this.grantKey = grantKey;
        this.grants = Set.of(grants);
    }

    @Override
    public List<Object> validValues(String name, Map<String, Object> parsedConfig) {
        if (grantKey != null) {
            return List.of();
        }
        List<Object> values = new ArrayList<>();
        for (OAuthGrant grant : OAuthGrant.values()) {
            values.add(grant.configValue());
        }
        return values;
    }

    @Override
    public boolean visible(String name, Map<String, Object> parsedConfig) {
        if (grantKey == null) {
            return true;
        }
        Object value = parsedConfig.get(grantKey);
        try {
            return value == null || grants.contains(OAuthGrant.parse(value.toString()));
        } catch (IllegalArgumentException e) {
            return true; // an invalid grant is reported on its own key
        }
    }
}
