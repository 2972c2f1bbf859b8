package io.mailbridge.pop3.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.apache.kafka.common.config.ConfigData;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.provider.ConfigProvider;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Stands in for Strimzi's {@code KubernetesSecretConfigProvider} on a test worker: resolves
 * {@code ${<name>:<namespace>/<secret>:<key>}} from the {@code kind: Secret} documents of a Kubernetes manifest
 * file (param {@code manifest}), {@code data} base64-decoded as Kubernetes does, {@code stringData} as written.
 * A reference to a Secret or key the manifest does not hold fails, as it would in the cluster.
 */
public final class SecretManifestConfigProvider implements ConfigProvider {

    private final Map<String, Map<String, String>> secrets = new HashMap<>();

    @Override
    public void configure(Map<String, ?> configs) {
        Object manifest = configs.get("manifest");
        if (manifest == null) {
            throw new ConfigException("param.manifest: the Kubernetes manifest file holding the Secrets");
        }
        try (MappingIterator<JsonNode> docs = new YAMLMapper().readerFor(JsonNode.class)
                .readValues(Path.of(manifest.toString()).toFile())) {
            while (docs.hasNext()) {
                JsonNode doc = docs.next();
                if (!"Secret".equals(doc.path("kind").asText())) {
                    continue;
                }
                Map<String, String> values = new LinkedHashMap<>();
                doc.path("data").properties().forEach(e -> values.put(e.getKey(),
                        new String(Base64.getDecoder().decode(e.getValue().asText()), StandardCharsets.UTF_8)));
                doc.path("stringData").properties().forEach(e -> values.put(e.getKey(), e.getValue().asText()));
                secrets.put(doc.path("metadata").path("namespace").asText("default") + "/"
                        + doc.path("metadata").path("name").asText(), values);
            }
        } catch (IOException e) {
            throw new ConfigException("cannot read " + manifest + ": " + e);
        }
    }

    @Override
    public ConfigData get(String path) {
        return new ConfigData(secret(path));
    }

    @Override
    public ConfigData get(String path, Set<String> keys) {
        Map<String, String> secret = secret(path);
        Map<String, String> out = new HashMap<>();
        for (String key : keys) {
            if (!secret.containsKey(key)) {
                throw new ConfigException("Secret " + path + " has no key " + key);
            }
            out.put(key, secret.get(key));
        }
        return new ConfigData(out);
    }

    private Map<String, String> secret(String path) {
        Map<String, String> secret = secrets.get(path);
        if (secret == null) {
            throw new ConfigException("no Secret " + path + " (namespace/name) in the manifest; have " + secrets.keySet());
        }
        return secret;
    }

    @Override
    public void close() {
        secrets.clear();
    }
}
