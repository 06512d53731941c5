// What a start does about the snapshot (`snapshot.mode`), from the newest checkpoint record:
// - `never`: nothing.
// - `initial` / `initial_only` / `when_needed`: with no checkpoint yet, every captured table of the
//   source is read first, while the stream starts at the binlog's end; a record with the snapshot
//   under way goes on where it stands. A record without a snapshot (a daemon that streamed before)
//   takes none: its tables hold their changes already, and are listed as done, so that a table
//   captured later is told apart. A captured table the record does not list (a new rule, a table
//   created while the daemon was down) is read while the stream goes on, after a truncate marker.
// `initial_only` stops the daemon, with a final checkpoint, once every table is read.
// `when_needed` also reads every table again when the record's position is purged (see purged()).
import type mysql from 'mysql2/promise';
import type { CheckpointRecord } from '../../core/checkpoint-record.ts';
import { isSluiceError, SluiceError } from '../../core/errors.ts';
import type { Router } from '../../routing/router.ts';
import { readTableKey, type TableKey } from '../table/table-key.ts';
import { freshProgress, SNAPSHOT, type SnapshotProgress, type SnapshotState } from './snapshot-progress.ts';

export type SnapshotMode = 'never' | 'initial' | 'initial_only' | 'when_needed';

export interface SnapshotPlan {
  progress: SnapshotProgress;
  /** No checkpoint yet: the stream starts at the binlog's end, where the snapshot starts. */
  fresh: boolean;
  keys: Map<string, TableKey>;
}

/**
 * `purged`: the record's position is gone from the server and the mode is when_needed: every
 * captured table is read again (after a truncate marker each), while the stream starts at the end.
 */
export async function planSnapshot(connection: mysql.Connection, mode: SnapshotMode, record: CheckpointRecord | undefined, router: Router, purged = false): Promise<SnapshotPlan | undefined> {
  if (mode === 'never') return undefined;
  const recorded = record?.sources[SNAPSHOT] as SnapshotState | undefined;
  const existing = await capturedTables(connection, router);
  let progress: SnapshotProgress;
  if (!record) progress = freshProgress(existing);
  else if (purged) progress = { tables: Object.fromEntries(existing.map((table) => [table, { rows: 0, reset: true as const }])) };
  else if (!recorded) progress = { tables: Object.fromEntries(existing.map((table) => [table, { rows: 0, done: true as const }])) };
  else progress = withAdded(withoutDropped(recorded.position, new Set(existing)), existing);
  const keys = new Map<string, TableKey>();
  // Every key is read before the stream starts: a table without one is refused now, not mid-way.
  const fresh = !record || purged;
  for (const [table, entry] of Object.entries(progress.tables)) {
    if (entry.done) continue;
    // A first start refuses a table without a key at once; later, such a table (one that came while
    // streaming) stops when its turn comes, the others going on (snapshot-merge.ts).
    const key = fresh ? await keyAtStart(connection, table, mode) : await keyOrLater(connection, table);
    if (key) keys.set(table, key);
  }
  return { progress, fresh, keys };
}

/**
 * Each captured table a first start would refuse for want of a key, with the daemon's own words:
 * `sluice check` lists them all beforehand (a start stops at the first).
 */
export async function tablesRefusedAtStart(connection: mysql.Connection, mode: SnapshotMode, router: Router): Promise<SluiceError[]> {
  if (mode === 'never') return [];
  const refused: SluiceError[] = [];
  for (const table of await capturedTables(connection, router)) {
    await keyAtStart(connection, table, mode).catch((error: unknown) => {
      if (!isSluiceError(error, 'SLUICE_TABLE_KEY')) throw error;
      refused.push(error);
    });
  }
  return refused;
}

/**
 * `initial` is the default mode, so a user who never asked for a snapshot meets this refusal on a
 * first start: it names the way to stream without one too.
 */
async function keyAtStart(connection: mysql.Connection, table: string, mode: SnapshotMode): Promise<TableKey> {
  try {
    return await readTableKey(connection, table);
  } catch (error) {
    if (!isSluiceError(error, 'SLUICE_TABLE_KEY')) throw error;
    throw new SluiceError(
      'SLUICE_TABLE_KEY',
      `${error.message}; then start again. Or leave the table out of the routing, or set snapshot.mode: never (snapshot.mode is ${mode}): then no table's existing rows are read, only the stream's changes`,
      { context: { ...error.context, key: 'snapshot.mode' }, cause: error },
    );
  }
}

async function keyOrLater(connection: mysql.Connection, table: string): Promise<TableKey | undefined> {
  try {
    return await readTableKey(connection, table);
  } catch (error) {
    if (isSluiceError(error, 'SLUICE_TABLE_KEY')) return undefined;
    throw error;
  }
}

/**
 * A table dropped (or no longer captured) since the record has nothing left to read: it leaves the
 * list, so that it counts as new if it is captured again.
 */
function withoutDropped(progress: SnapshotProgress, existing: ReadonlySet<string>): SnapshotProgress {
  return { ...progress, tables: Object.fromEntries(Object.entries(progress.tables).filter(([table]) => existing.has(table))) };
}

/** Captured tables the record does not list: read after the others, each after a truncate marker. */
function withAdded(progress: SnapshotProgress, existing: readonly string[]): SnapshotProgress {
  const added = existing.filter((table) => !(table in progress.tables));
  if (added.length === 0) return progress;
  return { ...progress, tables: { ...progress.tables, ...Object.fromEntries(added.map((table) => [table, { rows: 0, reset: true as const }])) } };
}

/** The source's base tables that the routing captures, in name order. */
async function capturedTables(connection: mysql.Connection, router: Router): Promise<string[]> {
  const [rows] = await connection.query<mysql.RowDataPacket[]>(
    "SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME",
  );
  return rows.filter((row) => router.isCaptured(String(row.db), String(row.name))).map((row) => `${String(row.db)}.${String(row.name)}`);
}

/**
 * A restart that reads the stream again from a stopped table's point, before the snapshot's last
 * rows, would number the stream without them: the other tables would take changes twice. Refused,
 * with the way on; the snapshot holds its rows back while a table is stopped, so this needs a stop
 * between a chunk and the next checkpoint.
 */
export function requireNoReplayOverSnapshot(plan: SnapshotPlan | undefined, retrying: ReadonlyArray<[string, { since: { nextSequence: string } }]>): void {
  const upTo = plan?.progress.rowsUpTo;
  if (upTo === undefined) return;
  const behind = retrying.filter(([, entry]) => BigInt(entry.since.nextSequence) < BigInt(upTo));
  if (behind.length === 0) return;
  const tables = behind.map(([table]) => table).join(', ');
  throw new SluiceError(
    'SLUICE_SNAPSHOT',
    `the stopped table(s) ${tables} would be read again from before rows the snapshot has already handed on, which this version cannot number again. ` +
      `Run \`sluice checkpoint skip-table <table>\` for each (their changes since they stopped are then given up; copy those tables anew), then start again.`,
    { context: { tables: behind.map(([table]) => table) } },
  );
}
