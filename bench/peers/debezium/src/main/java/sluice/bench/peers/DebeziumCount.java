package sluice.bench.peers;

import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.format.Json;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Debezium's embedded engine with its MariaDB connector over the benchmark's binlog, handing out each
 * change as JSON (Kafka Connect's JsonConverter, as the engine's Json format does), counting the row
 * change events by their "op". No snapshot (snapshot.mode never): the connector reads the binlog from its
 * first file, as canal does here, and learns the table from the CREATE TABLE in it. Offsets and the
 * schema history stay in memory. The JSON carries no schema, deletes leave no tombstones and the DDL
 * no schema change events: nothing here reads them, and they would only add work (or, the last, events
 * that are not row changes).
 *
 * Arguments (key=value): host, port, user, password, serverId, database, table, expected, idleSeconds.
 */
public final class DebeziumCount {
  public static void main(String[] argv) throws Exception {
    PeerCount count = new PeerCount(argv);
    Properties props = new Properties();
    props.setProperty("name", "sluice-bench");
    props.setProperty("connector.class", "io.debezium.connector.mariadb.MariaDbConnector");
    props.setProperty("offset.storage", "org.apache.kafka.connect.storage.MemoryOffsetBackingStore");
    props.setProperty("offset.flush.interval.ms", "60000");
    props.setProperty("schema.history.internal", "io.debezium.relational.history.MemorySchemaHistory");
    props.setProperty("database.hostname", count.arg("host"));
    props.setProperty("database.port", count.arg("port"));
    props.setProperty("database.user", count.arg("user"));
    props.setProperty("database.password", count.arg("password"));
    props.setProperty("database.server.id", count.arg("serverId"));
    props.setProperty("database.ssl.mode", "disable");
    props.setProperty("topic.prefix", "sluice_bench");
    props.setProperty("database.include.list", count.arg("database"));
    props.setProperty("table.include.list", count.arg("database") + "." + count.arg("table"));
    props.setProperty("snapshot.mode", "never");
    props.setProperty("tombstones.on.delete", "false");
    props.setProperty("include.schema.changes", "false");
    props.setProperty("converter.schemas.enable", "false");

    DebeziumEngine<ChangeEvent<String, String>> engine = DebeziumEngine.create(Json.class)
        .using(props)
        .notifying(event -> {
          String value = event.value();
          if (value != null) count.add(kind(value), 1);
        })
        .using((success, message, error) -> {
          if (error != null) error.printStackTrace();
          count.stopped("engine completed (" + (success ? "success" : "failure") + "): " + message);
        })
        .build();
    ExecutorService executor = Executors.newSingleThreadExecutor();
    count.started();
    executor.execute(engine);
    Thread.currentThread().join();
  }

  /** The change's kind from its envelope's "op" (after before/after/source, so the last one). */
  private static String kind(String value) {
    int at = value.lastIndexOf("\"op\":\"");
    char op = at < 0 ? '?' : value.charAt(at + 6);
    return switch (op) {
      case 'c' -> "insert";
      case 'u' -> "update";
      case 'd' -> "delete";
      default -> "op " + op;
    };
  }
}
