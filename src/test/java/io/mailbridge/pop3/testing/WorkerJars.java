package io.mailbridge.pop3.testing;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The jars of a released Kafka Connect worker, as {@code compat/kafka-X/pom.xml} copied them into
 * {@code target/compat/kafka-X/} (the build's maven-invoker-plugin runs those poms before the integration tests).
 *
 * @param version   the Kafka release, read off its kafka-clients jar (e.g. {@code 3.9.2})
 * @param classpath every jar of that worker, for {@code java -cp}
 */
public record WorkerJars(String version, String classpath) {

    private static final Path ROOT = Path.of("target", "compat");

    /** Every worker the build prepared, oldest first; fails when there is none (a build that skipped the invoker). */
    public static List<WorkerJars> prepared() throws IOException {
        List<WorkerJars> out = new ArrayList<>();
        if (Files.isDirectory(ROOT)) {
            try (Stream<Path> dirs = Files.list(ROOT)) {
                for (Path dir : dirs.filter(Files::isDirectory).toList()) {
                    out.add(of(dir));
                }
            }
        }
        if (out.isEmpty()) {
            throw new IllegalStateException("No worker jars in " + ROOT.toAbsolutePath()
                    + "; run mvn verify (its maven-invoker-plugin fills it from compat/)");
        }
        out.sort(Comparator.comparing(WorkerJars::versionKey));
        return out;
    }

    private static WorkerJars of(Path dir) throws IOException {
        List<String> jars = new ArrayList<>();
        String version = null;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path jar : files.filter(p -> p.toString().endsWith(".jar")).sorted().toList()) {
                jars.add(jar.toAbsolutePath().toString());
                String name = jar.getFileName().toString();
                if (name.startsWith("kafka-clients-")) {
                    version = name.substring("kafka-clients-".length(), name.length() - ".jar".length());
                }
            }
        }
        if (version == null) {
            throw new IllegalStateException("No kafka-clients jar in " + dir.toAbsolutePath());
        }
        return new WorkerJars(version, String.join(File.pathSeparator, jars));
    }

    /** Sorts 3.9.2 before 4.0.2 before 4.10.0. */
    private String versionKey() {
        StringBuilder key = new StringBuilder();
        for (String part : version.split("[.-]")) {
            key.append(String.format("%5s", part));
        }
        return key.toString();
    }

    /** True for workers that have plugin metrics of their own (KIP-877, Kafka 4.1+). */
    public boolean hasPluginMetrics() {
        String[] parts = version.split("\\.");
        int major = Integer.parseInt(parts[0]);
        int minor = Integer.parseInt(parts[1]);
        return major > 4 || (major == 4 && minor >= 1);
    }

    @Override
    public String toString() {
        return version;
    }
}
