// `sluice checkpoint show` and `sluice checkpoint set`: look at, and move, the position a daemon
// resumes from. `set` takes the state lock itself, so it refuses while a daemon runs on the same
// state directory, and no daemon can start while it writes.
import type { Logger } from 'pino';
import { CheckpointStore } from '../checkpoint/checkpoint-store.ts';
import { SNAPSHOT, type SnapshotState } from '../sources/snapshot/snapshot-progress.ts';
import { moveCheckpoint, skipStoppedTable } from '../checkpoint/move-checkpoint.ts';
import type { DaemonConfig, KafkaDaemonConfig, SluiceConfig } from '../config/schema.ts';
import { SluiceError } from '../core/errors.ts';
import { BINLOG, binlogHiveRecord, binlogHiveRecoveries, type BinlogHiveRecord } from '../pipeline/binlog-to-hive-record.ts';
import { openStorage } from '../runtime/embedded-runtime.ts';
import { createLogger } from '../core/logger.ts';
import { openStateStore } from '../runtime/open-state-store.ts';
import type { StateStore } from '../core/state-store.ts';
import { kafkaHiveRecord } from '../pipeline/kafka-to-hive-record.ts';
import { describeKafkaRecord, describeKafkaSkip, describeNoKafkaRecord } from './kafka-checkpoint-view.ts';
import { describePosition, describeStart, type BinlogPosition, type BinlogStart } from '../sources/binlog/position/binlog-position.ts';
import { connectMysql, type MysqlServerOptions } from '../core/mysql-connect.ts';
import { requirePositionAvailable } from '../sources/binlog/position/position-available.ts';
import { INSTANT_EXAMPLE, parseInstant } from '../core/instant.ts';
import { preflight, type ServerFacts } from '../sources/binlog/server/preflight.ts';
import { resolveStartOnServer, type ResolvedStart } from '../sources/binlog/position/resolve-start.ts';
import { sourceConnection, toBinlogStart } from './run-command.ts';

export interface TargetOptions {
  file?: string;
  position?: string;
  gtid?: string;
  timestamp?: string;
  earliest?: boolean;
  latest?: boolean;
}

const MARIADB_GTID_POSITION = /^\d+-\d+-\d+(,\d+-\d+-\d+)*$/;

/** The one target the options name; anything else is an error that names the options. */
export function targetFromOptions(options: TargetOptions): BinlogStart {
  const given = [
    options.file !== undefined || options.position !== undefined ? '--file/--position' : undefined,
    options.gtid !== undefined ? '--gtid' : undefined,
    options.timestamp !== undefined ? '--timestamp' : undefined,
    options.earliest ? '--earliest' : undefined,
    options.latest ? '--latest' : undefined,
  ].filter((name): name is string => name !== undefined);
  if (given.length !== 1) {
    throw targetError(`give exactly one of --file NAME --position N, --gtid SET, --timestamp INSTANT, --earliest, --latest${given.length > 1 ? ` (got ${given.join(', ')})` : ''}`);
  }
  if (options.earliest) return { kind: 'earliest' };
  if (options.latest) return { kind: 'latest' };
  if (options.gtid !== undefined) return { kind: 'gtid', gtidSet: options.gtid.trim() };
  if (options.timestamp !== undefined) {
    const epochMs = parseInstant(options.timestamp);
    if (epochMs === undefined) throw targetError(`--timestamp '${options.timestamp}': expected ${INSTANT_EXAMPLE}`);
    return { kind: 'timestamp', at: options.timestamp.trim(), epochMs };
  }
  if (options.file === undefined) throw targetError(`--position ${options.position} needs --file NAME`);
  if (options.position === undefined) throw targetError(`--file ${options.file} needs --position N (4 is the start of a file)`);
  const offset = /^\d+$/.test(options.position) ? Number(options.position) : NaN;
  // Binlog files open with a 4-byte magic header, so no event starts before offset 4.
  if (!Number.isSafeInteger(offset) || offset < 4) {
    throw targetError(`--position ${options.position}: expected a byte offset of at least 4 in ${options.file}`);
  }
  return { kind: 'file', file: options.file, offset };
}

export async function showCheckpoint(config: DaemonConfig, options: { json?: boolean }): Promise<string> {
  const state = openStateStore(config);
  try {
    const dir = state.description;
    const stored = await new CheckpointStore(state).latest();
    if (config.source.kind === 'kafka') {
      const record = stored && kafkaHiveRecord(stored);
      if (options.json) return JSON.stringify(record ?? null, null, 2) + '\n';
      return (record ? describeKafkaRecord(record, dir) : describeNoKafkaRecord(config as KafkaDaemonConfig, dir, state.configKey)) + (await describeDaemon(state));
    }
    // In format 1's shape, which scripts know (`jq .source.position`), whatever format the file has.
    const record = stored && binlogHiveRecord(stored);
    const snapshot = stored?.sources[SNAPSHOT] as SnapshotState | undefined;
    // The snapshot's progress beside it, as the record file holds it: a key format 1 never had, so no script breaks.
    if (options.json) return JSON.stringify(record ? { ...record, ...(snapshot ? { sources: { [SNAPSHOT]: snapshot } } : {}) } : null, null, 2) + '\n';
    const daemon = await describeDaemon(state);
    if (!record) {
      return `no checkpoint in ${dir} (${state.configKey}): the first start begins at source.start, ${describeStart(toBinlogStart((config as SluiceConfig).source.start))}\n` + daemon;
    }
    return describeRecord(record, dir) + describeSnapshot(snapshot) + daemon;
  } finally {
    state.close?.();
  }
}

/** Whether a daemon holds the state's lock, as the last line of `checkpoint show`. */
async function describeDaemon(state: StateStore): Promise<string> {
  const holder = await state.lockHolder();
  return `  daemon:          ${holder ? `running (pid ${holder.pid}${holder.host ? ` on host ${holder.host}` : ''})` : 'not running'}\n`;
}

function describeSnapshot(state: SnapshotState | undefined): string {
  if (!state) return '';
  const tables = Object.entries(state.position.tables);
  const done = tables.filter(([, table]) => table.done).length;
  const rows = tables.reduce((sum, [, table]) => sum + table.rows, 0);
  const next = tables.find(([, table]) => !table.done);
  const where = next ? `; next: ${next[0]}${next[1].after ? ` after key ${JSON.stringify(next[1].after)}` : ' from its start'}` : '';
  return `  snapshot:        ${done} of ${tables.length} table(s) done, ${rows} row(s) read${where}\n`;
}

function describeRecord(record: BinlogHiveRecord, dir: string): string {
  const { position, nextSequence } = record.source;
  return (
    `checkpoint ${record.id} in ${dir}\n` +
    `  written:         ${record.createdAt} by ${record.jobId}\n` +
    `  binlog position: ${position.file}:${position.offset}\n` +
    `  GTID:            ${position.gtidSet === undefined ? '(none: resumes by file and offset)' : position.gtidSet || '(empty: the whole binlog)'}\n` +
    `  next sequence:   ${nextSequence}\n` +
    `  pending commits: ${record.commits.length}${record.commits.length > 0 ? ' (done right after the record; a start redoes any left undone)' : ''}\n` +
    describeTables(record) +
    describePreparedXa(record)
  );
}

function describePreparedXa(record: BinlogHiveRecord): string {
  return Object.entries(record.preparedXa ?? {})
    .map(([xid, files]) => `  prepared XA:     ${xid}, ${files.length} staged file(s) held until its XA COMMIT (then committed) or XA ROLLBACK (then deleted)\n`)
    .join('');
}

function describeTables(record: BinlogHiveRecord): string {
  const stopped = Object.entries(record.tables?.stopped ?? {});
  const ahead = record.tables?.ahead;
  let text = '';
  for (const [table, entry] of stopped) {
    text +=
      `  stopped table:   ${table} since ${describePosition(entry.since.position)} (next sequence ${entry.since.nextSequence}), ` +
      `stopped ${entry.stoppedAt} at ${entry.at}: ${entry.code}: ${entry.message}\n`;
  }
  if (stopped.length > 0) text += '                   the next start retries each stopped table from its position, once the cause is fixed\n';
  if (ahead) {
    const points = [...(ahead.others ? [`the other tables from sequence ${ahead.others.nextSequence}`] : []), ...Object.entries(ahead.tables ?? {}).map(([table, from]) => `${table} from ${from.nextSequence}`)];
    text += `  catching up:     re-reading for retried tables; already written: ${points.join(', ')}\n`;
  }
  return text;
}

/**
 * Runs `change` on the state of a stopped daemon: holding the state lock (so no daemon runs on it
 * meanwhile), with the storage open. Logs go to stderr so that stdout is the command's answer.
 */
export async function changeStoppedState(config: Pick<DaemonConfig, 'checkpoint' | 'sink' | 'log'>, change: (state: { store: CheckpointStore; storage: ReturnType<typeof openStorage>; logger: Logger }) => Promise<string>): Promise<string> {
  const logger = createLogger(config.log.level, 2, config.log.format);
  const state = openStateStore(config, logger);
  const lock = await state.lock().catch((error: unknown) => {
    state.close?.();
    throw error;
  });
  try {
    const storage = openStorage(config);
    try {
      return await change({ store: new CheckpointStore(state), storage, logger });
    } finally {
      await storage.catalog.close();
    }
  } finally {
    await lock.release();
    state.close?.();
  }
}

export async function setCheckpoint(config: SluiceConfig, target: BinlogStart): Promise<string> {
  return changeStoppedState(config, async ({ store, storage, logger }) => {
    const connection = sourceConnection(config);
    const server = `${connection.host}:${connection.port}`;
    const facts = await preflight(connection);
    const resolved = await resolveTarget(connection, config.source.serverId, server, facts, target);
    const position = resolved.position;
    const moved = await moveCheckpoint(store, binlogHiveRecoveries(storage.fs, storage.catalog, store.state, logger), logger, { name: BINLOG, kind: 'binlog', position });
    const previous = moved.previous && binlogHiveRecord(moved.previous);
    const record = binlogHiveRecord(moved.record);
    const forgotten = Object.entries(previous?.tables?.stopped ?? {});
    const forgottenXa = Object.keys(previous?.preparedXa ?? {});
    return (
      `checkpoint ${record.id} written: the next start resumes at ${describeResume(position, facts)} (${describeStart(target)}${resolved.note ? `: ${resolved.note}` : ''})\n` +
      `  was:             ${previous ? `checkpoint ${previous.id} at ${describePosition(previous.source.position)}` : 'no checkpoint'}\n` +
      `  next sequence:   ${record.source.nextSequence} (unchanged, so _seq keeps growing)\n` +
      forgotten.map(([table, entry]) => `  no longer stopped: ${table}, which lacks the changes from ${describePosition(entry.since.position)} up to the new position if it moved forward\n`).join('') +
      forgottenXa
        .map((xid) => `  forgotten XA:    ${xid}, prepared and not yet committed: its held rows are deleted at the next start; they are read again if the new position is before its XA PREPARE, and missing from Hive if it is after and the transaction commits\n`)
        .join('') +
      'Changes between the two positions are skipped when the position moves forward, and read again when it moves back.\n'
    );
  });
}

async function resolveTarget(
  connection: MysqlServerOptions,
  serverId: number,
  server: string,
  facts: ServerFacts,
  target: BinlogStart,
): Promise<Pick<ResolvedStart, 'position' | 'note'>> {
  if (target.kind === 'file') {
    const file = facts.binlogFiles.find((entry) => entry.name === target.file);
    if (!file) throw targetError(`--file ${target.file} is not a binlog file on ${server}; SHOW BINARY LOGS lists ${listFiles(facts)}`);
    if (target.offset > file.size) throw targetError(`--position ${target.offset} is past the end of ${target.file} on ${server} (${file.size} bytes)`);
  }
  if (target.kind === 'gtid') {
    if (!facts.hasGtid) throw targetError(`--gtid needs a server with GTIDs, and ${server} has gtid_mode off; use --file and --position`);
    if (facts.isMariaDb && target.gtidSet !== '' && !MARIADB_GTID_POSITION.test(target.gtidSet)) {
      throw targetError(`--gtid '${target.gtidSet}' is not a MariaDB GTID position such as 0-1-42 (domain-server-sequence, one per domain, comma-separated)`);
    }
  }
  const resolved = await resolveStartOnServer({ connection, serverId }, server, facts, undefined, target);
  if (target.kind === 'gtid') {
    const control = await connectMysql(connection);
    try {
      await requirePositionAvailable(control, server, facts, resolved.position);
    } finally {
      await control.end().catch(() => undefined);
    }
  }
  return resolved;
}

function describeResume(position: BinlogPosition, facts: ServerFacts): string {
  return facts.hasGtid && position.gtidSet !== undefined ? `GTID ${position.gtidSet || '(empty: the whole binlog)'}` : `${position.file}:${position.offset}`;
}

function listFiles(facts: ServerFacts): string {
  const names = facts.binlogFiles.map((entry) => entry.name);
  if (names.length === 0) return 'none';
  return names.length <= 5 ? names.join(', ') : `${names.length} files, ${names[0]} .. ${names.at(-1)}`;
}

/** Offsets are not positions `checkpoint set` knows how to find and check on the brokers: said, not half done. */
export function kafkaCheckpointSetRefused(file: string): SluiceError {
  return new SluiceError(
    'SLUICE_CHECKPOINT_TARGET',
    `checkpoint set moves a binlog position; ${file} is a Kafka loader's (source.kind: kafka), whose partition offsets it cannot move yet. ` +
      'To read the topics again from source.start, stop the loader and start it on an empty checkpoint.dir (its tables keep their rows: drop them first for a clean copy).',
    { context: { file } },
  );
}

function targetError(message: string): SluiceError {
  return new SluiceError('SLUICE_CHECKPOINT_TARGET', `checkpoint set: ${message}`);
}

/** `checkpoint skip-table`: a stopped table gives up its missing changes and goes on from where the others stand. */
export async function skipTable(config: DaemonConfig, table: string): Promise<string> {
  return changeStoppedState(config, async ({ store, storage, logger }) => {
    const skipped = await skipStoppedTable(store, binlogHiveRecoveries(storage.fs, storage.catalog, store.state, logger), logger, table);
    if (config.source.kind === 'kafka') return describeKafkaSkip(kafkaHiveRecord(skipped.previous!), kafkaHiveRecord(skipped.record), table);
    const previous = binlogHiveRecord(skipped.previous!);
    const record = binlogHiveRecord(skipped.record);
    const entry = previous.tables!.stopped![table]!;
    const from = record.tables?.ahead?.others ?? record.source;
    return (
      `checkpoint ${record.id} written: ${table} is no longer stopped and takes changes from ${describePosition(from.position)} on.\n` +
      `  skipped:         its changes from ${describePosition(entry.since.position)} up to there are not written, and no start reads them back\n` +
      `  it had stopped:  ${entry.code}: ${entry.message}\n` +
      'If the table must hold those changes, read it again with `sluice snapshot <source db.table>` (snapshot.mode other than never), copy it anew (sluice sync) or replay them with checkpoint set.\n'
    );
  });
}
