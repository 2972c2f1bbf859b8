package io.mailbridge.pop3.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One scrape of a Prometheus metrics endpoint in the text exposition format: its samples, by metric name. */
public final class PrometheusScrape {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})? (\\S+)(?: \\d+)?$");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\",?");

    /** A sample: its labels and value. */
    public record Sample(Map<String, String> labels, double value) {
    }

    private final Map<String, List<Sample>> samples;
    private final String text;

    private PrometheusScrape(Map<String, List<Sample>> samples, String text) {
        this.samples = samples;
        this.text = text;
    }

    /** GETs {@code url} and parses the answer; an IOException while the endpoint is not up yet. */
    public static PrometheusScrape get(String url) throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
                .build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IOException("GET " + url + ": " + r.statusCode());
        }
        return parse(r.body());
    }

    static PrometheusScrape parse(String text) {
        Map<String, List<Sample>> samples = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            Matcher m = SAMPLE.matcher(line.trim());
            if (line.startsWith("#") || !m.matches()) {
                continue;
            }
            Map<String, String> labels = new LinkedHashMap<>();
            if (m.group(2) != null) {
                Matcher l = LABEL.matcher(m.group(2));
                while (l.find()) {
                    labels.put(l.group(1), l.group(2).replace("\\\"", "\"").replace("\\n", "\n")
                            .replace("\\\\", "\\"));
                }
            }
            samples.computeIfAbsent(m.group(1), k -> new ArrayList<>())
                    .add(new Sample(labels, Double.parseDouble(m.group(3))));
        }
        return new PrometheusScrape(samples, text);
    }

    /** The value of {@code metric} for the sample whose labels include all of {@code labels}; null when none. */
    public Double value(String metric, Map<String, String> labels) {
        for (Sample s : samples.getOrDefault(metric, List.of())) {
            if (s.labels().entrySet().containsAll(labels.entrySet())) {
                return s.value();
            }
        }
        return null;
    }

    /** The samples of {@code metric} (empty when absent). */
    public List<Sample> samples(String metric) {
        return samples.getOrDefault(metric, List.of());
    }

    /** The lines of the scrape whose metric name starts with {@code prefix}, for failure messages. */
    public String linesStartingWith(String prefix) {
        StringBuilder out = new StringBuilder();
        for (String line : text.split("\n")) {
            if (line.startsWith(prefix)) {
                out.append(line).append('\n');
            }
        }
        return out.toString();
    }
}
