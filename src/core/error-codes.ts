// What each error code means to the person who meets it, written once: docs/errors.md is generated
// from this record (npm run docs:errors) and the exit status of a failed command reads `restartHelps`
// from it. Typed over the ErrorCode union, so a code added there without an entry here does not compile.
// One code per entry, entries in the union's order, so that parallel additions merge line by line.
import type { ErrorCode } from './errors.ts';

export interface ErrorCodeDoc {
  /** What happened, in the user's terms. */
  meaning: string;
  /**
   * Whether waiting may be enough (sluice then retries in process, or systemd restarts it):
   * 'yes' and 'no' hold for every error of the code; a string says when it is.
   */
  transient: 'yes' | 'no' | { when: string };
  /**
   * False when a restart only repeats the error until a person acts: `run` and `sync` then exit 78,
   * which the systemd unit does not restart (RestartPreventExitStatus=78); otherwise they exit 1.
   */
  restartHelps: boolean;
  /** What the user does. */
  action: string;
}

export const ERROR_CODES: { readonly [Code in ErrorCode]: ErrorCodeDoc } = {
  SLUICE_CONFIG_INVALID: {
    meaning: 'A config key is missing, misspelt, of the wrong type or out of range; the message names the file, line, column and key path.',
    transient: 'no',
    restartHelps: false,
    action: 'Fix the key; `sluice check` shows every finding at once.',
  },
  SLUICE_CONFIG_UNREADABLE: {
    meaning: 'A file the config names, or the config file itself, cannot be read (missing, a directory, no permission).',
    transient: 'no',
    restartHelps: false,
    action: 'Give the path of a readable file, or make the named file readable by the user sluice runs as.',
  },
  SLUICE_MYSQL_UNREACHABLE: {
    meaning: 'No MySQL/MariaDB server answers at the configured host and port (refused, unresolvable, timed out, or silent).',
    transient: 'yes',
    restartHelps: true,
    action: 'Nothing if the server is down for a while: sluice retries with backoff. Otherwise fix `source.host`/`source.port`.',
  },
  SLUICE_MYSQL_ACCESS_DENIED: {
    meaning: 'The server refused the configured user or password.',
    transient: 'no',
    restartHelps: false,
    action: 'Fix `source.user`/`source.password` (or the `writer` keys of a MySQL target), or create the user.',
  },
  SLUICE_MYSQL_PRIVILEGE_MISSING: {
    meaning: 'The user lacks a privilege sluice needs (REPLICATION SLAVE, REPLICATION CLIENT, SELECT).',
    transient: 'no',
    restartHelps: false,
    action: 'Run the GRANT statement the message gives.',
  },
  SLUICE_MYSQL_TLS: {
    meaning: 'The connection does not meet `source.tls`: the server offers no TLS where the mode needs it, its certificate does not verify, or it accepts TLS connections only.',
    transient: 'no',
    restartHelps: false,
    action: 'Do what the message says: give the CA in `source.tls.ca`, choose another `source.tls.mode`, or enable TLS on the server.',
  },
  SLUICE_BINLOG_SETTING: {
    meaning: 'A server variable is not what sluice needs (log_bin off, binlog_format not ROW, binlog_row_image not FULL, ...).',
    transient: 'no',
    restartHelps: false,
    action: 'Apply the my.cnf / SET GLOBAL fix the message gives.',
  },
  SLUICE_BINLOG_POSITION_PURGED: {
    meaning: 'The server no longer has the binlog position sluice must resume from (its binlogs were purged).',
    transient: 'no',
    restartHelps: false,
    action: 'Start from a position the server still has (`sluice checkpoint set`, see SHOW BINARY LOGS) or take a new snapshot (`snapshot.mode: when_needed` reads every table again at the next start); keep binlogs longer.',
  },
  SLUICE_BINLOG_STREAM: {
    meaning: 'The binlog connection failed or dropped mid-stream.',
    transient: 'yes',
    restartHelps: true,
    action: 'Nothing: sluice reconnects from its last checkpoint with backoff. If it persists, read the cause in the log.',
  },
  SLUICE_BINLOG_EVENT_TOO_LARGE: {
    meaning: "A binlog event is larger than the server's max_allowed_packet, or holds a value too large for Node.js to decode.",
    transient: 'no',
    restartHelps: false,
    action: 'Raise max_allowed_packet on the server and start again; an event past 1 GiB can only be skipped with `sluice checkpoint set`, losing its changes.',
  },
  SLUICE_BINLOG_STATEMENT_DML: {
    meaning: 'A change of rows was logged as a statement (binlog_format=STATEMENT or MIXED): it has no rows to write.',
    transient: 'no',
    restartHelps: false,
    action: 'Set binlog_format=ROW on the server; the message names the table and position.',
  },
  SLUICE_BINLOG_ROW_IMAGE: {
    meaning: 'A rows event without every column (binlog_row_image=MINIMAL or NOBLOB).',
    transient: 'no',
    restartHelps: false,
    action: 'Set binlog_row_image=FULL on the server; the message names the table and position.',
  },
  SLUICE_BINLOG_UNSUPPORTED_EVENT: {
    meaning: 'An event sluice cannot decode (binlog_row_value_options=PARTIAL_JSON; a compressed transaction whose compression type is not zstd).',
    transient: 'no',
    restartHelps: false,
    action: 'Turn the named server option off; move past the event with `sluice checkpoint set` only if losing its changes is acceptable.',
  },
  SLUICE_BINLOG_PAYLOAD_UNREADABLE: {
    meaning: 'A compressed transaction (binlog_transaction_compression=ON) whose zstd data or inner events do not decode; the message names its position.',
    transient: 'no',
    restartHelps: false,
    action: 'Look at the transaction with `mysqlbinlog --verbose` from the named position; turn binlog_transaction_compression off to keep later transactions plain, and move past this one with `sluice checkpoint set` only if losing its changes is acceptable.',
  },
  SLUICE_BINLOG_ROWS_MOVED: {
    meaning: 'A statement moved rows of a captured table without row events (TRUNCATE or DROP PARTITION, EXCHANGE or CONVERT PARTITION, a RENAME onto a captured name): its changelog cannot say which rows it holds.',
    transient: 'no',
    restartHelps: false,
    action: 'The table stops (sink.onTableError). With the daemon stopped, run `sluice checkpoint skip-table <table>` and copy the table anew; after an online schema change swap, skip-table alone is enough.',
  },
  SLUICE_BINLOG_DATABASE_DROPPED: {
    meaning: 'DROP DATABASE of a database routing.include may capture: the binlog names none of its tables, so no truncate markers can be written.',
    transient: 'no',
    restartHelps: false,
    action: 'Mark or drop the rows of its captured tables in the targets as your readers need, then move the checkpoint past the statement (`sluice checkpoint set`). Drop tables one by one before a database to get a marker each.',
  },
  SLUICE_CHECKPOINT_CORRUPT: {
    meaning: 'A checkpoint, sync state or compaction record cannot be read.',
    transient: 'no',
    restartHelps: false,
    action: 'Restore the named file from a backup, or set a checkpoint with `sluice checkpoint set`.',
  },
  SLUICE_CHECKPOINT_TARGET: {
    meaning: '`sluice checkpoint set` or `skip-table` was given a position or table it cannot use.',
    transient: 'no',
    restartHelps: true,
    action: 'Give a position the server has, or one of the stopped tables the message lists.',
  },
  SLUICE_STATE_LOCKED: {
    meaning: 'Another sluice process holds the state directory (checkpoint.dir).',
    transient: 'no',
    restartHelps: true,
    action: 'Stop the other process, or give this one its own checkpoint.dir; two processes must never share checkpoints.',
  },
  SLUICE_STATE_LOCK_LOST: {
    meaning: 'The daemon found that the lock on its HDFS state directory (checkpoint.hdfs.dir) now names another process: it stopped refreshing it for longer than the lease (paused, or cut off from HDFS) and another daemon took over.',
    transient: 'no',
    restartHelps: true,
    action: 'Nothing, if the other daemon was meant to take over: this one exits at once, without a final checkpoint, and a restart waits for the lock. Otherwise find why it could not refresh the lock (a long pause, HDFS unreachable from this host).',
  },
  SLUICE_HA_FENCED: {
    meaning: 'With ha.zookeeper: another daemon took over as the active one (its epoch in ZooKeeper is newer than this one\'s), typically because this one was paused or cut off past its session timeout. This daemon wrote nothing after that and stands down.',
    transient: 'no',
    restartHelps: true,
    action: 'Nothing, if the takeover was meant: the daemon exits without a final checkpoint; restarted (systemd), it stands by. Otherwise find why its ZooKeeper session ended (a long pause, a network cut).',
  },
  SLUICE_HA_ZOOKEEPER_LOST: {
    meaning: 'With ha.zookeeper: the daemon could not prove to ZooKeeper that it still leads (ZooKeeper unreachable, or its session expired), so it did not write a checkpoint or commit a file.',
    transient: { when: 'while ZooKeeper comes back within the session timeout' },
    restartHelps: true,
    action: 'Bring ZooKeeper back (ha.zookeeper.connect); the daemon retries from the last checkpoint, and a restarted one stands by until it is elected.',
  },
  SLUICE_COMMIT_LOST: {
    meaning: 'A commit the checkpoint record names cannot be carried out: its staged file and its target are both gone.',
    transient: 'no',
    restartHelps: false,
    action: 'Find what removed the file (a cleanup job, a person); restore it, or move the checkpoint back to before it.',
  },
  SLUICE_FILESYSTEM: {
    meaning: 'A file operation on the warehouse file system (local, HDFS/WebHDFS, FTP) failed; the message names the server, operation and path.',
    transient: { when: 'the cause passes by itself (a connection dropped, HTTP 5xx, a NameNode in safe mode or failing over, an FTP 4xx answer)' },
    restartHelps: true,
    action: 'Nothing for a transient cause: sluice retries from its last checkpoint. Otherwise fix what the message names (a permission, a path, a full HDFS).',
  },
  SLUICE_DISK_FULL: {
    meaning: 'The disk holding a directory sluice writes (checkpoint.dir, a local warehouse, the spool) is full.',
    transient: { when: 'in `run` and `sync`, which wait until there is space; commands that change a checkpoint stop instead' },
    restartHelps: true,
    action: 'Free space on that file system or grow it; nothing after the last checkpoint was committed.',
  },
  SLUICE_DIR_UNWRITABLE: {
    meaning: 'sluice may not write in a directory it needs (permissions, a read-only mount), or a path there is a file.',
    transient: 'no',
    restartHelps: false,
    action: 'Fix the permissions or the mount, or point the named key at a directory.',
  },
  SLUICE_NOT_MYSQL: {
    meaning: 'The configured host and port answer, but not as MySQL (an HTTP server, a proxy).',
    transient: 'no',
    restartHelps: false,
    action: 'Point the host and port keys at the MySQL/MariaDB server.',
  },
  SLUICE_SERVER_ID_IN_USE: {
    meaning: "Another replica is connected with sluice's server id (source.serverId).",
    transient: 'no',
    restartHelps: false,
    action: 'Give sluice a server id no other replica of that server uses.',
  },
  SLUICE_CATALOG: {
    meaning: 'HiveServer2 (or the local catalog) failed or refused a statement; the message names the server and the statement.',
    transient: { when: 'the connection was lost or timed out, or Hive reports a passing state (metastore unreachable, a lock, safe mode)' },
    restartHelps: true,
    action: 'Nothing for a transient cause. A refused statement stops only its table: fix what Hive says, then restart.',
  },
  SLUICE_SCHEMA_UNSUPPORTED: {
    meaning: 'A column type or schema change Hive cannot follow, or a value that cannot be written exactly.',
    transient: 'no',
    restartHelps: true,
    action: 'The table stops and the others go on; see "One table that cannot be followed" in docs/when-things-go-wrong.md.',
  },
  SLUICE_METADATA_NAMES_CHANGED: {
    meaning: 'A changelog table exists with other metadata column names than `sink.metadataColumns` (or its routing rule\'s `metadataColumns`) now gives it; sluice does not rename the columns of an existing table.',
    transient: 'no',
    restartHelps: false,
    action: 'Set the key back to the names the message says the table has (a routing rule of its own may keep them for that table), or route its changes to a new table.',
  },
  SLUICE_SCHEMA_HISTORY: {
    meaning: "The columns of a table at a binlog position cannot be known (the schema history cannot be read, or the server's view cannot be read back).",
    transient: { when: 'the connection to the server was lost or a lock timed out' },
    restartHelps: true,
    action: 'For one table: that table stops and the others go on. For the history file: restore it or set a new checkpoint.',
  },
  SLUICE_STATEMENT_UNREADABLE: {
    meaning: 'A statement in the binlog that removes rows (TRUNCATE, DROP) names tables sluice cannot read.',
    transient: 'no',
    restartHelps: false,
    action: 'Report the statement; to go on without its markers, move the checkpoint past it (`sluice checkpoint set`).',
  },
  SLUICE_QUERY: {
    meaning: '`sluice query` cannot run: no table or SQL given, a table that is not db.table, or the query failed.',
    transient: 'no',
    restartHelps: true,
    action: 'Fix the table name or the SQL.',
  },
  SLUICE_METRICS_LISTEN: {
    meaning: 'The metrics server cannot listen on metrics.host:metrics.port (in use, or not allowed).',
    transient: 'no',
    restartHelps: true,
    action: 'Choose a free port or a host the process may bind, or turn metrics off.',
  },
  SLUICE_SYNC_PRECONDITION: {
    meaning: 'A batch copy cannot start as configured (no usable key, an interrupted copy with other settings, ...).',
    transient: 'no',
    restartHelps: true,
    action: 'Do what the message says: finish the interrupted copy, or start over with a new job name.',
  },
  SLUICE_SYNC_SOURCE: {
    meaning: 'A batch copy cannot read its source table, or a key value of it (`source.key`).',
    transient: { when: 'reading a page of rows failed; a key value that is not a number or date is not' },
    restartHelps: true,
    action: 'Nothing for a failed read: the copy resumes from its checkpoint. Otherwise fix `source.key` or the filter the message names.',
  },
  SLUICE_SYNC_TARGET: {
    meaning: 'A batch copy cannot write its MySQL target table.',
    transient: { when: 'the connection was lost, a lock wait timed out, a deadlock, or the server is shutting down' },
    restartHelps: true,
    action: 'Nothing for a transient cause: the copy restarts from its checkpoint. Otherwise fix what the server says.',
  },
  SLUICE_TABLE_KEY: {
    meaning: 'A table has no key its rows can be read by in a resumable order (no primary key or unique NOT NULL index, a key column of a kind such as FLOAT or ENUM), or a key value does not fit its column.',
    transient: 'no',
    restartHelps: false,
    action: 'Add a primary key (or a unique index on NOT NULL columns) to the table, or name indexed key columns where the message says. At a first start with a snapshot, or leave the table out of the routing, or set `snapshot.mode: never`. A table the snapshot meets while streaming stops alone (the others go on): add the key and restart sluice, which reads it.',
  },
  SLUICE_SNAPSHOT: {
    meaning: 'The snapshot of existing rows (`snapshot.mode`) cannot read a chunk of a table (on MySQL: also when the server has not committed, within 60 s, transactions the stream already read), cannot resume with the checkpoint it finds (a stopped table would be read again from before rows it handed on), or is asked for on MySQL with gtid_mode=OFF; or `sluice snapshot` names a table the routing does not capture, or runs with `snapshot.mode: never`; or `snapshot.signalTable` names a table the routing does not capture.',
    transient: { when: 'reading a chunk of rows failed or its wait for the GTID set timed out; a resume conflict or gtid_mode=OFF is not' },
    restartHelps: true,
    action: 'A failed read or wait: nothing, sluice starts over from its last checkpoint (if the wait repeats, look for a commit stuck on the server). A resume conflict: run `sluice checkpoint skip-table` for the tables the message names. gtid_mode=OFF on MySQL: turn GTIDs on, or set `snapshot.mode: never`. `sluice snapshot`: name a captured source table as db.table, with a snapshot.mode other than never. `snapshot.signalTable`: add the table to routing.include, or remove the key.',
  },
  SLUICE_CAPTURE_FILTER: {
    meaning: "A table's row filter (`capture.tables[].filter` or `routing.rules[].filter`) reads a column the table no longer has (a later ALTER TABLE dropped or renamed it).",
    transient: 'no',
    restartHelps: false,
    action: 'The table stops and the others go on. Change the filter to the columns the table has now and restart: the table goes on from its last checkpoint.',
  },
  SLUICE_HTTP_TIMEOUT: {
    meaning: 'A WebHDFS request made no progress for `requestTimeoutMs`; seen as the cause of a SLUICE_FILESYSTEM error.',
    transient: 'yes',
    restartHelps: true,
    action: 'Nothing: the request is retried (on the other NameNode of an HA pair). If it persists, check the NameNode or DataNode the message names.',
  },
  SLUICE_KAFKA: {
    meaning: 'The Kafka brokers cannot be reached, or refuse the consumer (a topic that does not exist, no access).',
    transient: { when: 'a broker is down or restarting; not when a topic is missing or access is denied' },
    restartHelps: true,
    action: 'Check `source.brokers` and that every topic under `source.topics` exists; the message names the broker or topic.',
  },
  SLUICE_KAFKA_COLUMNS_UNKNOWN: {
    meaning: "A Kafka message has a column whose type sluice cannot tell: the message states none (Debezium without its schema, Maxwell, GoldenGate) and the topic's `columns` list lacks it.",
    transient: 'no',
    restartHelps: false,
    action: "Add the column under the topic's `columns.<db>.<table>` with its MySQL type; the next start reads from the last checkpoint, so nothing is lost.",
  },
  SLUICE_KAFKA_VALUE: {
    meaning: "A value in a Kafka message does not fit its column's type (text in an integer column, a number out of range, a malformed date); it is never written as NULL.",
    transient: 'no',
    restartHelps: false,
    action: "Fix the column's type in the topic's `columns` (or the producer); the message names topic, partition, offset, table and column. The next start reads from the last checkpoint.",
  },
  SLUICE_UNEXPECTED: {
    meaning: 'An error sluice did not foresee (not a SluiceError): a bug, or a library failing in a way sluice does not know.',
    transient: 'no',
    restartHelps: true,
    action: 'Report it with the log line (it holds the stack trace); systemd restarts sluice from its last checkpoint.',
  },
};
