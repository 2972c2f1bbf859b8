package io.mailbridge.pop3;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class Pop3SourceConnectorTest {

    /** Connect numbers tasks by their place in taskConfigs(); workers before 4.1 tell a task nothing else. */
    @Test
    void eachTaskConfigCarriesTheTaskNumberConnectGivesIt() {
        Pop3SourceConnector connector = new Pop3SourceConnector();
        connector.start(Map.of("name", "team", "topic", "mail", "pop3.host", "pop.example.com",
                "pop3.username", "u", "pop3.password", "p", "mailboxes", "a,b,c"));
        List<String> ids = new ArrayList<>();
        for (Map<String, String> task : connector.taskConfigs(2)) {
            ids.add(task.get(Pop3SourceConnectorConfig.TASK_ID_CONFIG));
            assertEquals("team", task.get("name"), "the connector name, which tags the task's metrics");
        }
        assertEquals(List.of("0", "1"), ids);
        connector.stop();
    }
}
