// The columns of each captured table, keyed by the binlog position from which they hold. Under
// binlog_row_metadata=MINIMAL the binlog's TableMap has no column names; information_schema has
// them, but only as they are now. So every change sluice learns of is kept here, and a replay after
// a restart decodes an old event with the columns that held when it was written, as Debezium's
// schema history does. Kept in the state directory with the checkpoints' atomic-write rule, and
// written before any checkpoint that moves past what it records.
//
// Under ha.zookeeper the file carries the writer's epoch in its name (schema-history.e<epoch>.json)
// and a reader takes the highest epoch's: HDFS has no conditional rename, so an old leader paused
// between its epoch check and its rename can still put one late file in place, and that file must
// not win over the one the new leader wrote (docs/ha.md). Older epochs' files are deleted only after
// the writer's own is in place. Without an epoch the name is schema-history.json, as before.
import { SluiceError } from '../../../core/errors.ts';
import { storedPath } from '../../../core/json-records.ts';
import type { StateStore } from '../../../core/state-store.ts';
import { stateStoreOf } from '../../../runtime/local-state-store.ts';
import { describePosition, type BinlogPosition } from '../position/binlog-position.ts';
import { isAtOrBefore, isSamePosition } from '../position/position-order.ts';
import type { TableSchema } from './table-columns.ts';

export const SCHEMA_HISTORY_FILE = 'schema-history.json';

const EPOCH_FILE = /^schema-history\.e(\d+)\.json$/;

/** The history's name for a writer of `epoch` (ha.zookeeper), today's name without one. */
export function schemaHistoryFile(epoch?: number): string {
  return epoch === undefined ? SCHEMA_HISTORY_FILE : `schema-history.e${epoch}.json`;
}

/** The epoch in a history file's name: -1 for today's name (written before ha.zookeeper, or without it), undefined for other files. */
function epochOfFile(name: string): number | undefined {
  if (name === SCHEMA_HISTORY_FILE) return -1;
  const match = EPOCH_FILE.exec(name);
  return match ? Number(match[1]) : undefined;
}

interface EntryBase {
  /** tableKey(): 'db.table' in lower case. */
  table: string;
  /** The boundary from which the entry holds: the one after its DDL statement, or the one before the transaction where the table was first seen. */
  from: BinlogPosition;
  /** The DDL statement that made the entry, with its position, for messages. */
  statement?: string;
  statementAt?: string;
}

export type HistoryEntry =
  /** 'information_schema': read from the server and known to hold at `from`; 'statement': worked out from the DDL statements. */
  | (EntryBase & { state: 'columns'; schema: TableSchema; source: 'information_schema' | 'statement' })
  /** A statement changed the table in a way sluice could not follow; the server is asked when the table's rows come. */
  | (EntryBase & { state: 'unknown'; reason: string })
  | (EntryBase & { state: 'dropped' });

interface HistoryFile {
  format: 1;
  entries: HistoryEntry[];
}

export class SchemaHistory {
  private readonly byTable = new Map<string, HistoryEntry[]>();
  private version = 0;
  private savedVersion = 0;
  /** Saves run one after the other: the checkpoint loop and the source both save. */
  private saving: Promise<void> = Promise.resolve();

  /** The file loaded from (the highest epoch's), or the one to be written on a first start. */
  readonly file: string;

  private constructor(
    private readonly state: StateStore,
    private readonly epoch: number | undefined,
    loadedName: string,
  ) {
    this.file = storedPath(state, loadedName);
  }

  /**
   * From the state store (a directory means the local one); empty on a first start. `epoch` is the
   * ha.zookeeper leader's (the store's own by default): saves go to that epoch's file.
   */
  static async load(state: string | StateStore, epoch?: number): Promise<SchemaHistory> {
    const store = stateStoreOf(state);
    epoch ??= store.epoch;
    const name = await newestHistoryName(store);
    const history = new SchemaHistory(store, epoch, name ?? schemaHistoryFile(epoch));
    const content = name === undefined ? undefined : await store.read(name);
    if (content === undefined) return history;
    const text = content.toString('utf8');
    let parsed: HistoryFile;
    try {
      parsed = JSON.parse(text) as HistoryFile;
      if (parsed.format !== 1 || !Array.isArray(parsed.entries)) throw new Error('not a sluice schema history of format 1');
    } catch (error) {
      // Written by rename, so a torn file means damage from outside; guessing columns could put
      // values into the wrong columns.
      throw new SluiceError('SLUICE_SCHEMA_HISTORY', `schema history ${history.file} cannot be read: ${(error as Error).message}`, {
        cause: error,
        context: { file: history.file },
      });
    }
    for (const entry of parsed.entries) history.append(entry);
    return history;
  }

  get size(): number {
    let count = 0;
    for (const entries of this.byTable.values()) count += entries.length;
    return count;
  }

  has(table: string): boolean {
    return this.byTable.has(table);
  }

  /** Keys of every table the history has entries for. */
  tables(): string[] {
    return [...this.byTable.keys()];
  }

  /** The entry that holds at `at`: the latest one from at or before it. */
  lookup(table: string, at: BinlogPosition): HistoryEntry | undefined {
    let found: HistoryEntry | undefined;
    for (const entry of this.byTable.get(table) ?? []) {
      if (!isAtOrBefore(entry.from, at)) continue;
      // Entries at the same position: the later recorded one (several DDL statements in a row).
      if (!found || isAtOrBefore(found.from, entry.from)) found = entry;
    }
    return found;
  }

  /** The entry recorded at exactly `at`, as a replay finds the one its first pass wrote. */
  entryAt(table: string, at: BinlogPosition): HistoryEntry | undefined {
    const entries = this.byTable.get(table) ?? [];
    const index = lastIndexAt(entries, at);
    return index < 0 ? undefined : entries[index];
  }

  /** Adds an entry, or replaces the one recorded for the same table at the same position. */
  record(entry: HistoryEntry): void {
    const entries = this.byTable.get(entry.table) ?? [];
    const index = lastIndexAt(entries, entry.from);
    if (index >= 0) entries[index] = entry;
    else this.append(entry);
    this.version++;
  }

  /** Writes the history if it changed, atomically (temp file, made durable, renamed over the old one). */
  save(): Promise<void> {
    const next = this.saving.then(() => this.writeIfChanged());
    this.saving = next.catch(() => undefined);
    return next;
  }

  private async writeIfChanged(): Promise<void> {
    if (this.version === this.savedVersion) return;
    const version = this.version;
    const content: HistoryFile = { format: 1, entries: [...this.byTable.values()].flat() };
    // Serialized before the first await: entries recorded meanwhile are saved next time.
    const text = JSON.stringify(content, null, 1) + '\n';
    const own = schemaHistoryFile(this.epoch);
    await this.state.write(own, text);
    this.savedVersion = version;
    // Only now that the writer's own file is in place: the others' (older epochs', today's name from
    // before ha.zookeeper, or epoch files when it was turned off) would otherwise be all there is.
    for (const name of await this.state.list()) {
      const epoch = epochOfFile(name);
      if (name !== own && epoch !== undefined && (this.epoch === undefined || epoch < this.epoch)) await this.state.remove(name);
    }
  }

  private append(entry: HistoryEntry): void {
    const entries = this.byTable.get(entry.table);
    if (entries) entries.push(entry);
    else this.byTable.set(entry.table, [entry]);
  }
}

/** The history file of the highest epoch in the store (today's name counts lowest), undefined when there is none. */
async function newestHistoryName(state: StateStore): Promise<string | undefined> {
  let newest: { name: string; epoch: number } | undefined;
  for (const name of await state.list()) {
    const epoch = epochOfFile(name);
    if (epoch !== undefined && (!newest || epoch > newest.epoch)) newest = { name, epoch };
  }
  return newest?.name;
}

function lastIndexAt(entries: readonly HistoryEntry[], at: BinlogPosition): number {
  for (let index = entries.length - 1; index >= 0; index--) if (isSamePosition(entries[index]!.from, at)) return index;
  return -1;
}

/** How an entry came to be, for error messages. */
export function describeEntry(entry: HistoryEntry): string {
  const where = describePosition(entry.from);
  if (entry.statement) return `${entry.statementAt ? `the statement at ${entry.statementAt}` : 'a statement'} (${abbreviate(entry.statement)})`;
  return entry.state === 'columns' && entry.source === 'information_schema' ? `information_schema, as of ${where}` : `the entry from ${where}`;
}

export function abbreviate(statement: string, length = 300): string {
  const flat = statement.replace(/\s+/g, ' ').trim();
  return flat.length > length ? `${flat.slice(0, length)}...` : flat;
}
