// What a batch job file (`sluice sync --job FILE`) may contain: one MySQL table, copied over N
// channels to files (local disk, HDFS, FTP) or to a MySQL table, resumable after any crash.
import { z } from 'zod';
import { logSettings, mysqlTls, nonEmpty, refineStateStore, requireStateNamenodes, stateStoreKeys, webHdfsFileSystem } from './schema.ts';

const identifier = nonEmpty.regex(/^[^`\s.]+$/, { error: 'expected a bare column name (no dots, spaces or backticks)' });
const qualifiedTable = nonEmpty.regex(/^[^`\s.]+\.[^`\s.]+$/, { error: "expected 'db.table'" });

const mysqlServer = {
  host: nonEmpty,
  port: z.int().min(1).max(65535).default(3306),
  user: nonEmpty,
  password: z.string().default(''),
  connectTimeoutMs: z.int().min(1).default(10000),
  // As the daemon's source.tls: MySQL's --ssl-mode, ca, cert, key.
  tls: mysqlTls.prefault({}),
};

const source = z.strictObject({
  ...mysqlServer,
  table: qualifiedTable,
  // The columns channels split on and resume from (one name or a list), leading an index. Default:
  // the primary key (else a unique index on NOT NULL columns). Integers, DECIMAL, strings, binary
  // strings and dates/times, composite or not; a non-unique choice is made unique by the primary key.
  key: z.union([identifier, z.array(identifier).min(1)]).optional(),
  // Columns to copy, in this order (default: all, in table order). The key need not be among them.
  columns: z.array(identifier).min(1).optional(),
  // An extra SQL condition every channel applies, e.g. "status <> 'void'".
  where: nonEmpty.optional(),
  // Rows per SELECT: bounds the memory of each channel.
  pageRows: z.int().min(1).max(1_000_000).default(10000),
});

// overwrite empties the target when the job starts fresh (never on a resume); append leaves what is
// there alone. append is the default because it never deletes anything.
const mode = z.enum(['append', 'overwrite']).default('append');

const fileSettings = {
  path: nonEmpty,
  mode,
  // A staged file is closed and a new one started past this size (it is still committed only at a checkpoint).
  rollBytes: z.int().min(1).default(134217728),
};

const localWriter = z.strictObject({ kind: z.literal('local'), ...fileSettings });

const { kind: _webhdfsKind, warehouse: _warehouse, ...webHdfsSettings } = webHdfsFileSystem.shape;
const hdfsWriter = z.strictObject({
  kind: z.literal('hdfs'),
  ...webHdfsSettings,
  ...fileSettings,
  path: nonEmpty.regex(/^\//, { error: "expected an absolute HDFS path such as '/user/hive/warehouse/ods.db/orders'" }),
});

const ftpWriter = z.strictObject({
  kind: z.literal('ftp'),
  host: nonEmpty,
  port: z.int().min(1).max(65535).default(21),
  user: nonEmpty,
  password: z.string().default(''),
  ...fileSettings,
  path: nonEmpty.regex(/^\//, { error: "expected an absolute path on the FTP server such as '/export/orders'" }),
});

const mysqlWriter = z.strictObject({
  kind: z.literal('mysql'),
  ...mysqlServer,
  // The target table: it must exist, use a transactional engine (InnoDB) and have the copied columns.
  table: qualifiedTable,
  mode,
});

const writer = z.discriminatedUnion('kind', [localWriter, hdfsWriter, ftpWriter, mysqlWriter], {
  error: "expected kind 'local', 'hdfs', 'ftp' or 'mysql'",
});

export const syncJobSchema = z.strictObject({
  // Names the job's state directory and its files; a job restarted under the same name resumes.
  name: nonEmpty.regex(/^[A-Za-z0-9_-]+$/, { error: 'expected letters, digits, - and _ only (it names files)' }),
  source,
  channels: z.int().min(1).max(64).default(1),
  writer,
  checkpoint: z
    .strictObject({
      intervalSeconds: z.number().gt(0).default(10),
      dir: nonEmpty.default('./.sluice/sync'),
      // The job's records in checkpoint.hdfs.dir/<name> on HDFS (docs/state.md); the connection is the hdfs writer's unless given.
      ...stateStoreKeys,
    })
    .superRefine(refineStateStore)
    .prefault({}),
  log: logSettings,
  metrics: z
    .strictObject({
      // Off by default: a batch job is short-lived; turn it on when something scrapes it.
      enabled: z.boolean().default(false),
      host: nonEmpty.default('127.0.0.1'),
      port: z.int().min(0).max(65535).default(9465),
    })
    .prefault({}),
}).superRefine((job, ctx) => requireStateNamenodes(job.checkpoint.hdfs, job.writer.kind === 'hdfs', 'the writer is not hdfs', ctx));

export type SyncJob = z.output<typeof syncJobSchema>;
export type SyncJobInput = z.input<typeof syncJobSchema>;
export type SyncWriterConfig = SyncJob['writer'];
export type SyncSourceConfig = SyncJob['source'];

/** The key columns `source.key` names, or undefined for the table's own key. */
export function requestedKey(source: Pick<SyncSourceConfig, 'key'>): string[] | undefined {
  return typeof source.key === 'string' ? [source.key] : source.key;
}
