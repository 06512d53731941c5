// The columns of each captured table, keyed by the binlog position from which they hold. Under
// binlog_row_metadata=MINIMAL the binlog's TableMap has no column names; information_schema has
// them, but only as they are now. So every change sluice learns of is kept here, and a replay after
// a restart decodes an old event with the columns that held when it was written, as Debezium's
// schema history does. Kept in the state directory with the checkpoints' atomic-write rule, and
// written before any checkpoint that moves past what it records.
import { SluiceError } from '../../../core/errors.ts';
import { storedPath } from '../../../core/json-records.ts';
import type { StateStore } from '../../../core/state-store.ts';
import { stateStoreOf } from '../../../runtime/local-state-store.ts';
import { describePosition, type BinlogPosition } from '../position/binlog-position.ts';
import { isAtOrBefore, isSamePosition } from '../position/position-order.ts';
import type { TableSchema } from './table-columns.ts';

export const SCHEMA_HISTORY_FILE = 'schema-history.json';

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

  readonly file: string;

  private constructor(private readonly state: StateStore) {
    this.file = storedPath(state, SCHEMA_HISTORY_FILE);
  }

  /** From the state store (a directory means the local one); empty on a first start. */
  static async load(state: string | StateStore): Promise<SchemaHistory> {
    const history = new SchemaHistory(stateStoreOf(state));
    const content = await history.state.read(SCHEMA_HISTORY_FILE);
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
    await this.state.write(SCHEMA_HISTORY_FILE, text);
    this.savedVersion = version;
  }

  private append(entry: HistoryEntry): void {
    const entries = this.byTable.get(entry.table);
    if (entries) entries.push(entry);
    else this.byTable.set(entry.table, [entry]);
  }
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
