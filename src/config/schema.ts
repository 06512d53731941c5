// The one description of what a sluice.yaml may contain. Every object is strict so a misspelt key is
// an error instead of a silently ignored setting, and every optional key has a default that is safe
// to run with. Nested sections use prefault({}) rather than default({}) so that an omitted section
// is still parsed and receives the defaults of its own keys.
import { validateDetailed } from 'node-cron';
import { z } from 'zod';
import { haSettings } from './ha-schema.ts';
import { INSTANT_EXAMPLE, parseInstant } from '../core/instant.ts';
import { LOG_FORMATS } from '../core/log-format.ts';
import { TLS_MODES } from '../core/mysql-tls.ts';
import { HIVE_RESERVED_WORDS, METADATA_ROLES, resolveMetadataNames, type MetadataNames, type MetadataRole } from './metadata-columns.ts';
import { FilterSyntaxError, parseRowFilter, type RowFilterExpression } from './row-filter-syntax.ts';

// Never replicated, whatever include/exclude say: they hold grants and server state, not business data.
export const SYSTEM_SCHEMAS = ['mysql', 'information_schema', 'performance_schema', 'sys'] as const;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const nonEmpty = z.string().min(1);

// A 'db.table' glob. Requiring the dot catches `include: [shop]`, which would otherwise match nothing.
const tableGlob = nonEmpty.regex(/^[^.]+\.[^.]+$/, {
  error: "expected a 'db.table' glob such as 'shop.*' or '*.orders'",
});

// Read in no process time zone: an instant without its zone would start somewhere else on each machine.
const startInstant = z.string().superRefine((text, ctx) => {
  if (parseInstant(text) === undefined) ctx.addIssue({ code: 'custom', message: `expected ${INSTANT_EXAMPLE}, got '${text}'` });
});

const binlogStart = z.union(
  [
    z.enum(['earliest', 'latest']),
    // Binlog files open with a 4-byte magic header, so no event can start before offset 4.
    z.strictObject({ file: nonEmpty, position: z.int().min(4) }),
    z.strictObject({ gtid: nonEmpty }),
    z.strictObject({ timestamp: startInstant }),
  ],
  { error: "expected 'earliest', 'latest', { file, position }, { gtid } or { timestamp }" },
);

// TLS to the MySQL server, as MySQL's clients say it (--ssl-mode, --ssl-ca, --ssl-cert, --ssl-key).
// ca/cert/key are PEM files, relative to the config file. preferred, MySQL's default, encrypts when
// the server offers TLS; only verify-ca and verify-identity check the certificate, so a CA given to
// a mode that would not use it is refused rather than ignored.
export const mysqlTls = z
  .strictObject({
    mode: z.enum(TLS_MODES).default('preferred'),
    ca: nonEmpty.optional(),
    cert: nonEmpty.optional(),
    key: nonEmpty.optional(),
  })
  .superRefine((value, ctx) => {
    if (value.ca !== undefined && value.mode !== 'verify-ca' && value.mode !== 'verify-identity') {
      ctx.addIssue({ code: 'custom', path: ['ca'], message: `mode ${value.mode} does not check the server's certificate, so a ca would be ignored; set mode: verify-ca or verify-identity` });
    }
    if ((value.cert === undefined) !== (value.key === undefined)) {
      ctx.addIssue({ code: 'custom', path: [value.cert === undefined ? 'cert' : 'key'], message: 'cert and key (the client certificate and its private key) go together' });
    }
    if (value.mode === 'disabled' && value.cert !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['cert'], message: 'mode disabled sends no certificate; remove cert and key or choose another mode' });
    }
  });

const source = z.strictObject({
  kind: z.literal('binlog').default('binlog'),
  host: nonEmpty,
  port: z.int().min(1).max(65535).default(3306),
  user: nonEmpty,
  password: z.string().default(''),
  // MySQL drops one of two replicas that register with the same server id, so the default is an
  // unusual number; it still has to be checked against the real topology at connect time.
  serverId: z.int().min(1).max(4294967295).default(4711),
  start: binlogStart.default('earliest'),
  connectTimeoutMs: z.int().min(1).default(10000),
  tls: mysqlTls.prefault({}),
});

// Kafka topics of change events (docs/kafka.md). A topic's format says how its messages read; the
// column types come from the message where it states them (Debezium with its schema, canal), else
// from `columns`: source table 'db.table' -> column -> MySQL type, in column order.
const kafkaTopic = z.strictObject({
  name: nonEmpty,
  format: z.enum(['debezium-json', 'canal-json', 'maxwell-json', 'goldengate-json']),
  columns: z.record(tableGlob, z.record(nonEmpty, nonEmpty)).optional(),
});

const kafkaSource = z.strictObject({
  kind: z.literal('kafka'),
  brokers: z.array(nonEmpty.regex(/^[^:\s]+:\d+$/, { error: "expected 'host:port'" })).min(1),
  clientId: nonEmpty.default('sluice'),
  groupId: nonEmpty.default('sluice'),
  // One of several loaders sharing the group's partitions (docs/kafka.md, consumer groups): its name
  // begins its job ids and file names. Absent: one loader reads every partition of the topics.
  // Letters, digits, `_` and `-`: a systemd instance name, safe in a file name and in offset metadata.
  group: z.strictObject({ member: nonEmpty.regex(/^[A-Za-z0-9_-]{1,40}$/, { error: 'expected 1-40 letters, digits, _ or -' }) }).optional(),
  topics: z.array(kafkaTopic).min(1),
  // Where a partition the checkpoint does not name starts.
  start: z.enum(['earliest', 'latest']).default('earliest'),
  // A member that died without leaving (kill -9) holds its partitions this long: a restart waits for it
  // to pass before the group hands them out again. The broker allows 6000 and up (group.min.session.timeout.ms).
  sessionTimeoutMs: z.int().min(1000).default(10000),
  // One JSON line per message that is not JSON or lacks what its format needs (relative to the config file).
  deadLetterFile: nonEmpty.default('./.sluice/dead-letters.jsonl'),
});

// A Hive identifier that needs no backticks: a lower-case letter, then letters, digits and `_`; not a reserved word.
const hiveIdentifier = nonEmpty.max(128).superRefine((name, ctx) => {
  if (!/^[a-z][a-z0-9_]*$/.test(name)) ctx.addIssue({ code: 'custom', message: `'${name}' is not a Hive identifier that needs no backticks: expected a lower-case letter, then lower-case letters, digits and _` });
  else if (HIVE_RESERVED_WORDS.has(name)) ctx.addIssue({ code: 'custom', message: `'${name}' is a reserved word in HiveQL (it would need backticks): choose another name` });
});

// What of a table's rows is captured (docs/configuration.md, "What is captured"), on a capture.tables
// entry or a routing rule. Column names and globs are matched without regard to case, as MySQL does.
const columnGlob = nonEmpty.regex(/^[^.\s]+$/, { error: "expected a column name or glob such as 'email' or 'card_*'" });

export const MASK_KINDS = ['hash', 'fixed'] as const;
const mask = z.union([z.enum(MASK_KINDS), z.strictObject({ fixed: nonEmpty })], {
  error: "expected 'hash' (HMAC-SHA256 with capture.salt), 'fixed' ('****') or { fixed: '<text>' }",
});

// Parsed here, so that a mistake names the file, line and key at start; the parsed form is what routing evaluates.
const rowFilter = z.string().transform((text, ctx): RowFilterExpression => {
  try {
    return parseRowFilter(text);
  } catch (error) {
    if (!(error instanceof FilterSyntaxError)) throw error;
    ctx.addIssue({ code: 'custom', message: `not a valid row filter: ${error.message} (at character ${error.offset + 1} of "${text}")` });
    return z.NEVER;
  }
});

// What a schema change of the source does to the Hive table (docs/configuration.md, "Schema changes").
export const SCHEMA_POLICIES = ['evolve', 'lenient', 'ignore', 'exception'] as const;
export type SchemaPolicy = (typeof SCHEMA_POLICIES)[number];

const captureSettings = {
  columns: z
    .strictObject({
      // Only these columns (when given), and never those.
      include: z.array(columnGlob).min(1).optional(),
      exclude: z.array(columnGlob).default([]),
    })
    .optional(),
  mask: z.record(columnGlob, mask).optional(),
  filter: rowFilter.optional(),
  schemaChanges: z.enum(SCHEMA_POLICIES).optional(),
};

// Other names for the metadata columns of the tables a sink or rule creates (docs/row-format.md):
// HiveQL wants a leading `_` in backticks, so each is an identifier that needs none. Checked against
// each other and the partition columns at start (checkMetadataNames), against the source's columns
// when a table is opened, and against the names a table was created with (a table keeps its names).
const metadataColumns = z.strictObject(Object.fromEntries(METADATA_ROLES.map((role) => [role, hiveIdentifier.optional()])) as Record<MetadataRole, z.ZodOptional<typeof hiveIdentifier>>);

const rule = z
  .strictObject({
    ...captureSettings,
    metadataColumns: metadataColumns.optional(),
    match: nonEmpty.superRefine((pattern, ctx) => {
      try {
        new RegExp(pattern);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `expected a valid regular expression: ${(error as Error).message}` });
      }
    }),
    target: nonEmpty.regex(/^[^.\s]+\.[^.\s]+$/, {
      error: "expected a 'db.table' target such as 'ods.orders' (may use $1..$9 capture references)",
    }),
  })
  .superRefine((value, ctx) => {
    // A reference to a group the pattern lacks would silently become a literal '$2' in a table name.
    let groups: number;
    try {
      new RegExp(value.match);
      // `(?:pattern)|` always matches '', and the match array then has one slot per capture group.
      groups = (new RegExp(`(?:${value.match})|`).exec('')?.length ?? 1) - 1;
    } catch {
      return; // already reported on `match`
    }
    // One digit, as the router reads it: '$12' is group 1 followed by a literal '2'.
    for (const ref of value.target.matchAll(/\$(\d)/g)) {
      const n = Number(ref[1]);
      if (n === 0 || n > groups) {
        ctx.addIssue({
          code: 'custom',
          path: ['target'],
          message: `refers to $${n} but match has ${groups} capture group${groups === 1 ? '' : 's'}`,
        });
      }
    }
  });

const capture = z.strictObject({
  // The key of every 'hash' mask: without it a hash of a low-entropy value (a phone number) is
  // reversed by hashing every candidate. Keep it secret (\${env:...} or \${file:...}).
  salt: z.string().min(16, { error: 'expected at least 16 characters (a random secret: a short salt lets hashes be reversed)' }).optional(),
  // The first entry whose match (a source 'db.table' glob) names the table applies; a table none
  // matches takes its routing rule's settings, if any.
  tables: z.array(z.strictObject({ match: tableGlob, ...captureSettings })).default([]),
});

const routing = z.strictObject({
  include: z.array(tableGlob).default(['*.*']),
  exclude: z
    .array(tableGlob)
    .default([])
    // Folding the system schemas in here means every consumer of `exclude` honours them.
    .transform((globs) => [...new Set([...globs, ...SYSTEM_SCHEMAS.map((db) => `${db}.*`)])]),
  rules: z.array(rule).default([]),
});

// Where data files go: a local directory (the embedded default) or HDFS through WebHDFS. `kind` picks
// the variant; without it the section is the local one, as before WebHDFS existed.
const localFileSystem = z.strictObject({
  kind: z.literal('local').default('local'),
  root: nonEmpty.default('./.sluice/warehouse'),
});

const namenodeUrl = nonEmpty.superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `expected a NameNode HTTP address such as 'http://nn1:9870', got '${value}'` });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `expected an http:// or https:// address such as 'http://nn1:9870', got '${value}'` });
  } else if (url.search !== '' || url.username !== '' || url.password !== '') {
    ctx.addIssue({ code: 'custom', message: `expected a bare address without query or credentials (use 'user' and 'delegationToken'), got '${value}'` });
  }
});

export const webHdfsFileSystem = z.strictObject({
  kind: z.literal('webhdfs'),
  // The NameNodes' HTTP addresses (dfs.namenode.http-address), tried in order; with HA, all of them.
  namenodes: z.array(namenodeUrl).min(1),
  // user.name= of every request (simple authentication); the owner of the files sluice writes.
  user: nonEmpty.default('sluice'),
  // For a Kerberos cluster: a token from `hdfs fetchdt` or the NameNode's GETDELEGATIONTOKEN.
  delegationToken: nonEmpty.optional(),
  // The Hive warehouse on HDFS (hive.metastore.warehouse.dir); tables are created below it.
  warehouse: nonEmpty.regex(/^\//, { error: "expected an absolute HDFS path such as '/user/hive/warehouse'" }).default('/user/hive/warehouse'),
  // Local directory where files are spooled before upload (default: the OS temp dir + /sluice-spool).
  spoolDir: nonEmpty.optional(),
  // A request fails (and is retried) after this long without progress.
  requestTimeoutMs: z.int().min(1).default(60000),
});

const filesystem = z.discriminatedUnion('kind', [localFileSystem, webHdfsFileSystem], {
  error: "expected kind 'local' or 'webhdfs'",
});

// node-cron: 5 fields, or 6 with seconds first; evaluated in UTC, like the partitions.
const cronSchedule = nonEmpty.superRefine((pattern, ctx) => {
  const result = validateDetailed(pattern);
  if (!result.valid) {
    ctx.addIssue({ code: 'custom', message: `expected a cron expression such as '17 * * * *': ${result.errors.map((error) => error.message).join('; ')}` });
  }
});

// Compaction of closed partitions: small committed files merged into files of up to rollBytes.
const compaction = z.strictObject({
  enabled: z.boolean().default(true),
  schedule: cronSchedule.default('17 * * * *'),
  closedAfterHours: z.number().min(0).default(2),
  minFiles: z.int().min(2).default(4),
  smallFileBytes: z.int().min(1).default(67108864),
  maxPartitionsPerRun: z.int().min(1).default(4),
});

// Materialized current state (docs/current-state.md): each changelog table with a primary key folded
// into <table><suffix> on a schedule, which the current-state views read with the changes after it.
const materialize = z.strictObject({
  enabled: z.boolean().default(false),
  schedule: cronSchedule.default('41 2 * * *'),
  // 'all', or the Hive tables ('db.table') to materialize.
  tables: z.union([z.literal('all'), z.array(nonEmpty.regex(/^[^.\s]+\.[^.\s]+$/, { error: "expected a Hive table as 'db.table'" })).min(1)]).default('all'),
  suffix: z.string().regex(/^\w+$/, { error: 'expected letters, digits and _' }).default('_snapshot'),
  // 0: off. Else changelog partitions a snapshot covers, of days that ended more than this many days ago, are dropped.
  retentionDays: z.number().min(0).default(0),
});

const localCatalog = z.strictObject({ kind: z.literal('local').default('local'), dir: nonEmpty.default('./.sluice/catalog') });

const hiveServer2Catalog = z
  .strictObject({
    kind: z.literal('hiveserver2'),
    host: nonEmpty,
    port: z.int().min(1).max(65535).optional(),
    authentication: z.enum(['NOSASL', 'NONE', 'LDAP', 'PAM', 'CUSTOM', 'KERBEROS']).default('NONE'),
    user: nonEmpty.default('sluice'),
    password: z.string().optional(),
    transport: z.enum(['binary', 'http']).default('binary'),
    httpPath: nonEmpty.default('cliservice'),
    tls: z
      .strictObject({
        ca: nonEmpty.optional(),
        cert: nonEmpty.optional(),
        key: nonEmpty.optional(),
        servername: nonEmpty.optional(),
        rejectUnauthorized: z.boolean().default(true),
      })
      .optional(),
    database: nonEmpty.default('default'),
    fsDefaultFS: nonEmpty
      .regex(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]+\/?$/i, { error: "expected a file system URI such as 'hdfs://namenode:8020' or 'hdfs://nameservice1'" })
      .optional(),
    connectTimeoutMs: z.int().min(1).default(30000),
    statementTimeoutMs: z.int().min(1).default(300000),
    // The current-state view `<table><suffix>` of each table with a recorded primary key (docs/hiveserver2.md).
    currentView: z
      .strictObject({ enabled: z.boolean().default(true), suffix: z.string().regex(/^\w+$/, { error: 'expected letters, digits and _' }).default('_current') })
      .prefault({}),
  })
  .superRefine((value, ctx) => {
    if (value.authentication === 'KERBEROS') {
      ctx.addIssue({ code: 'custom', path: ['authentication'], message: 'KERBEROS is not supported yet; use LDAP, or an http gateway such as Knox' });
    }
    if (value.transport === 'http' && value.authentication === 'NOSASL') {
      ctx.addIssue({ code: 'custom', path: ['authentication'], message: 'NOSASL does not exist over http; use NONE, or the LDAP/PAM/CUSTOM the server runs' });
    }
    if (value.tls && (value.tls.cert === undefined) !== (value.tls.key === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'cert and key go together' });
    }
  })
  // HiveServer2's own defaults: 10000 for the binary transport, 10001 for http.
  .transform((value) => ({ ...value, port: value.port ?? (value.transport === 'http' ? 10001 : 10000) }));

const catalog = z.discriminatedUnion('kind', [localCatalog, hiveServer2Catalog], { error: "expected kind 'local' or 'hiveserver2'" });

// sink.kind: kafka (docs/kafka.md, "Binlog -> Kafka"): change events in Debezium's envelope, one
// Kafka transaction per checkpoint. Topic names are templates: {prefix}, {db} and {table} (the routed
// target's database and table, so routing rules name the topics too).
const topicTemplate = nonEmpty.regex(/^(?:[A-Za-z0-9._-]|\{(?:prefix|db|table)\})+$/, {
  error: "expected a topic name of letters, digits, '.', '_', '-' and the placeholders {prefix}, {db}, {table}",
});
const prefixTemplate = nonEmpty.regex(/^(?:[A-Za-z0-9._-]|\{prefix\})+$/, { error: "expected a topic name of letters, digits, '.', '_', '-' and the placeholder {prefix}" });
const kafkaSink = z.strictObject({
  brokers: z.array(nonEmpty.regex(/^[^:\s]+:\d+$/, { error: "expected 'host:port'" })).min(1),
  clientId: nonEmpty.default('sluice'),
  // One per daemon, kept across restarts: a restart fences the killed daemon's producer with it.
  transactionalId: nonEmpty,
  prefix: nonEmpty.regex(/^[A-Za-z0-9._-]+$/, { error: "expected letters, digits, '.', '_' or '-'" }).default('sluice'),
  topic: topicTemplate.default('{prefix}.{db}.{table}'),
  // Debezium's schema change topic is named after the prefix alone.
  schemaTopic: prefixTemplate.default('{prefix}'),
  stateTopic: prefixTemplate.default('sluice-state'),
  partitions: z.int().min(1).default(1),
  // -1: the broker's default.replication.factor.
  replicationFactor: z.int().min(-1).default(-1),
  tombstones: z.boolean().default(true),
  // The broker aborts a transaction open this long: more than a checkpoint interval (and its pauses).
  transactionTimeoutMs: z.int().min(1000).default(60000),
});

const sink = z.strictObject({
  kind: z.enum(['hive', 'kafka']).default('hive'),
  kafka: kafkaSink.optional(),
  // Hive's delimited text, or Parquet (read by Hive 4; its INT64 timestamps need Hive 4).
  format: z.enum(['text', 'parquet']).default('text'),
  parquet: z
    .strictObject({
      rowGroupRows: z.int().min(1).default(1_000_000),
      // Bounds the memory of each open Parquet file (its group's column buffers, and the garbage of encoding it: parquet-format.ts).
      rowGroupBytes: z.int().min(64 * 1024).default(2 * 1024 * 1024),
      codec: z.enum(['SNAPPY', 'UNCOMPRESSED']).default('SNAPPY'),
    })
    .prefault({}),
  partition: z.enum(['day', 'hour']).default('day'),
  // Hive identifiers, and never the name of a source column (Hive refuses such a table).
  dayColumn: nonEmpty.regex(/^[a-z_][a-z0-9_]*$/, { error: 'expected a lower-case Hive column name' }).default('dt'),
  hourColumn: nonEmpty.regex(/^[a-z_][a-z0-9_]*$/, { error: 'expected a lower-case Hive column name' }).default('hr'),
  metadataColumns: metadataColumns.optional(),
  filesystem: filesystem.prefault({}),
  catalog: catalog.prefault({}),
  rollBytes: z.int().min(1).default(134217728),
  // A file open this long is closed at its next row (it stays staged until the checkpoint), so a
  // long checkpoint interval does not make one endless file. 0 turns it off.
  rollSeconds: z.number().min(0).default(3600),
  compaction: compaction.prefault({}),
  materialize: materialize.prefault({}),
  // A change Hive cannot follow (or a value that cannot be decoded exactly) stops its table, and the
  // other tables go on; 'daemon' stops everything instead. Either way nothing is lost while the
  // binlog still holds the table's changes: a restart after the fix writes them.
  onTableError: z.enum(['table', 'daemon']).default('table'),
});

// The state directory on HDFS (checkpoint.store: hdfs, docs/state.md). The connection keys default to
// sink.filesystem's when that is webhdfs: the state usually lives on the cluster the data goes to.
export const hdfsState = z.strictObject({
  dir: nonEmpty.regex(/^\//, { error: "expected an absolute HDFS path such as '/sluice/state/shop'" }),
  namenodes: z.array(namenodeUrl).min(1).optional(),
  user: nonEmpty.optional(),
  delegationToken: nonEmpty.optional(),
  requestTimeoutMs: z.int().min(1).optional(),
  // Local directory where a state file is spooled before upload (default: sink.filesystem.spoolDir's default).
  spoolDir: nonEmpty.optional(),
});

/** checkpoint.store and checkpoint.hdfs, shared by the daemon's config and a batch job's. */
export const stateStoreKeys = {
  // Where checkpoint records, the schema history, compaction intents and the lock live.
  store: z.enum(['local', 'hdfs']).default('local'),
  hdfs: hdfsState.optional(),
};

export function refineStateStore(value: { store: 'local' | 'hdfs'; hdfs?: unknown }, ctx: z.RefinementCtx): void {
  if (value.store === 'hdfs' && !value.hdfs) {
    ctx.addIssue({ code: 'custom', path: ['hdfs'], message: "required with store: hdfs: the state directory on HDFS, e.g. hdfs: { dir: '/sluice/state/shop' }" });
  }
  if (value.store === 'local' && value.hdfs) {
    ctx.addIssue({ code: 'custom', path: ['store'], message: "checkpoint.hdfs is set but the store is 'local': set store: hdfs to keep the state there, or remove checkpoint.hdfs" });
  }
}

const checkpoint = z
  .strictObject({
    intervalSeconds: z.number().gt(0).default(10),
    // With store: hdfs, only the daemon's host-local files stay here (the health endpoint for `sluice status`).
    dir: nonEmpty.default('./.sluice/state'),
    keep: z.int().min(1).default(3),
    ...stateStoreKeys,
  })
  .superRefine(refineStateStore);

/** Shared by the daemon's config and the batch job's. */
export const logSettings = z
  .strictObject({
    level: z.enum(LOG_LEVELS).default('info'),
    // auto: the one-line pretty form on a terminal, JSON in a pipe or the journal.
    format: z.enum(LOG_FORMATS).default('auto'),
  })
  .prefault({});

// Existing rows first (docs/snapshot.md). `initial` by default (`never` for a Kafka source, which has
// no tables to read: see withSnapshotMode), as every peer does: a first start
// (no checkpoint yet) reads every captured table, chunk by chunk while the stream runs; a checkpoint
// written without a snapshot never starts one (its tables are listed as done). `initial_only` then
// stops; `when_needed` also reads every table again when the checkpoint's position is purged;
// `never` streams only, from source.start.
export const SNAPSHOT_MODES = ['never', 'initial', 'initial_only', 'when_needed'] as const;
export const snapshotSettings = z.strictObject({
  mode: z.enum(SNAPSHOT_MODES).optional(),
  chunkRows: z.int().min(1).default(10_000),
  // Bounds one chunk's memory, roughly: the number of rows per chunk follows the rows' size.
  chunkBytes: z.int().min(1024).default(16 * 1024 * 1024),
  // Debezium's signal table (columns id, type, data): an INSERT of an `execute-snapshot` signal seen
  // in the binlog reads the tables it names again while streaming (sources/snapshot/snapshot-signal.ts).
  signalTable: nonEmpty.regex(/^[^.*?]+\.[^.*?]+$/, { error: "expected a source table as 'db.table', e.g. 'sluice.signals'" }).optional(),
}).superRefine((snapshot, ctx) => {
  if (snapshot.signalTable !== undefined && snapshot.mode === 'never') {
    ctx.addIssue({ code: 'custom', path: ['signalTable'], message: 'a signal table needs snapshot.mode other than never: with never the daemon reads no table, so a signal could only be dropped' });
  }
});

// Everything but the source, which says what kind of daemon a config is: the binlog's or Kafka's.
const daemonSettings = {
  snapshot: snapshotSettings.prefault({}),
  routing: routing.prefault({}),
  capture: capture.prefault({}),
  sink: sink.prefault({}),
  checkpoint: checkpoint.prefault({}),
  runtime: z.strictObject({ maxQueuedEvents: z.int().min(1).default(1000) }).prefault({}),
  log: logSettings,
  ha: haSettings,
  metrics: z
    .strictObject({
      enabled: z.boolean().default(true),
      // Loopback by default: metrics name tables and servers, which is not for every network to read.
      host: nonEmpty.default('127.0.0.1'),
      // 0 picks a free port (tests); 9464 is the port Prometheus exporters conventionally use.
      port: z.int().min(0).max(65535).default(9464),
    })
    .prefault({}),
};

type DaemonSettings = z.output<z.ZodObject<typeof daemonSettings>>;

/** What no single key can check: an HDFS state store's NameNodes, and a hash mask's salt. */
function checkAcrossKeys(config: DaemonSettings, ctx: z.RefinementCtx): void {
  checkKafkaSink(config, ctx);
  checkMetadataNames(config, ctx);
  requireStateNamenodes(config.checkpoint.hdfs, config.sink.filesystem.kind === 'webhdfs', 'sink.filesystem is not webhdfs', ctx);
  // A standby on another host must read the state the active daemon wrote.
  if (config.ha.zookeeper && config.checkpoint.store !== 'hdfs') {
    ctx.addIssue({ code: 'custom', path: ['ha', 'zookeeper'], message: 'requires checkpoint.store: hdfs (with checkpoint.hdfs.dir): a standby on another host resumes from the state the active daemon left there' });
  }
  if (config.capture.salt !== undefined) return;
  const hashed = [
    ...config.capture.tables.map((entry, index) => ({ entry, path: ['capture', 'tables', index, 'mask'] })),
    ...config.routing.rules.map((entry, index) => ({ entry, path: ['routing', 'rules', index, 'mask'] })),
  ].find(({ entry }) => Object.values(entry.mask ?? {}).includes('hash'));
  if (hashed) ctx.addIssue({ code: 'custom', path: hashed.path, message: "a 'hash' mask needs capture.salt (a random secret of at least 16 characters)" });
}

/**
 * The metadata column names each rule's tables get (the rule's, else the sink's, else the defaults)
 * must differ from each other and from the partition columns: Hive refuses a table with a column twice.
 */
function checkMetadataNames(config: DaemonSettings, ctx: z.RefinementCtx): void {
  const { sink } = config;
  const partitions = new Map([[sink.dayColumn, 'sink.dayColumn'], ...(sink.partition === 'hour' ? [[sink.hourColumn, 'sink.hourColumn'] as const] : [])]);
  const sets: { path: (string | number)[]; own: Partial<MetadataNames> | undefined }[] = [
    { path: ['sink', 'metadataColumns'], own: sink.metadataColumns },
    ...config.routing.rules.map((entry, index) => ({ path: ['routing', 'rules', index, 'metadataColumns'], own: entry.metadataColumns })),
  ];
  for (const { path, own } of sets) {
    if (own === undefined) continue;
    const names = resolveMetadataNames(sink.metadataColumns, own);
    const seen = new Map<string, MetadataRole>();
    for (const role of METADATA_ROLES) {
      const name = names[role];
      const where = own[role] !== undefined ? [...path, role] : ['sink', 'metadataColumns', role];
      const other = seen.get(name);
      if (other !== undefined) ctx.addIssue({ code: 'custom', path: where, message: `'${name}' is also the name of the ${other} column: each metadata column needs a name of its own` });
      else if (partitions.has(name)) ctx.addIssue({ code: 'custom', path: where, message: `'${name}' is the partition column (${partitions.get(name)}): choose another name` });
      seen.set(name, role);
    }
  }
}

/** sink.kafka goes with sink.kind kafka, which takes every snapshot mode but when_needed. */
function checkKafkaSink(config: DaemonSettings, ctx: z.RefinementCtx): void {
  if (config.sink.kind === 'kafka' && !config.sink.kafka) {
    ctx.addIssue({ code: 'custom', path: ['sink', 'kafka'], message: "required with kind: kafka: at least brokers and transactionalId, e.g. kafka: { brokers: ['kafka1:9092'], transactionalId: sluice-shop }" });
  }
  if (config.sink.kind !== 'kafka' && config.sink.kafka) {
    ctx.addIssue({ code: 'custom', path: ['sink', 'kind'], message: "sink.kafka is set but the sink is 'hive': set kind: kafka to write to Kafka, or remove sink.kafka" });
  }
  if (config.sink.kind === 'kafka' && config.snapshot.mode === 'when_needed') {
    ctx.addIssue({ code: 'custom', path: ['snapshot', 'mode'], message: "when_needed is not built for the Kafka sink yet: use initial, initial_only or never with sink.kind kafka" });
  }
}

/** snapshot.mode left out: `initial`, but `never` where the source has no tables to read (Kafka). */
function withSnapshotMode<T extends DaemonSettings>(config: T, otherwise: (typeof SNAPSHOT_MODES)[number] = 'initial'): T & { snapshot: { mode: (typeof SNAPSHOT_MODES)[number] } } {
  return { ...config, snapshot: { ...config.snapshot, mode: config.snapshot.mode ?? otherwise } };
}

export const sluiceConfigSchema = z
  .strictObject({ source, ...daemonSettings })
  .superRefine(checkAcrossKeys)
  .transform((config) => withSnapshotMode(config));

/** checkpoint.hdfs.namenodes may be left out only where the data goes to HDFS too (its NameNodes are taken). */
export function requireStateNamenodes(hdfs: { namenodes?: unknown } | undefined, dataOnHdfs: boolean, otherwise: string, ctx: z.RefinementCtx): void {
  if (hdfs && !hdfs.namenodes && !dataOnHdfs) {
    ctx.addIssue({ code: 'custom', path: ['checkpoint', 'hdfs', 'namenodes'], message: `required when ${otherwise}: the NameNodes' HTTP addresses, e.g. ['http://nn1:9870']` });
  }
}

/** A daemon that reads Kafka topics (`source.kind: kafka`); the rest is the binlog daemon's. */
export const kafkaConfigSchema = z
  .strictObject({ source: kafkaSource, ...daemonSettings })
  .superRefine(checkAcrossKeys)
  .transform((config) => withSnapshotMode(config, 'never'));
export type KafkaDaemonConfig = z.output<typeof kafkaConfigSchema>;
/** Either daemon's config: the binlog reader's or the Kafka loader's (they differ only in `source`). */
export type DaemonConfig = SluiceConfig | KafkaDaemonConfig;

/** The validated configuration, defaults filled in and paths absolute (see load.ts). */
export type SluiceConfig = z.output<typeof sluiceConfigSchema>;
/** What a config file may contain before defaults. */
export type SluiceConfigInput = z.input<typeof sluiceConfigSchema>;
export type BinlogStart = SluiceConfig['source']['start'];
export type RoutingRule = SluiceConfig['routing']['rules'][number];
export type CaptureConfig = SluiceConfig['capture'];
export type LogLevel = (typeof LOG_LEVELS)[number];
