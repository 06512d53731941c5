// Keeps the schema history true to the binlog: records what every DDL statement does to a captured
// table at the statement's position, and answers "which columns does this table have here" for a
// TableMap event that names none.
//
// information_schema only shows tables as they are now. Its columns hold at an older position p when
// no statement changed the table between p and the read; the binlog itself says whether one did
// (SHOW BINLOG EVENTS from p up to the head read with the columns, see server-schema.ts). When one
// did, the statements are applied backwards where they say enough (ADD COLUMN, RENAME COLUMN), and
// otherwise sluice stops and names the statement: it never decodes with columns it cannot vouch for.
// A statement the stream reads is applied forwards to the table's entry before it, which needs no
// server at all; the server's columns check that work where they can.
import type { Logger } from 'pino';
import type mysql from 'mysql2/promise';
import { SluiceError } from '../../../core/errors.ts';
import { isTransient } from '../../../core/transient.ts';
import { describePosition, type BinlogPosition } from '../position/binlog-position.ts';
import { connectMysql, type MysqlServerOptions } from '../../../core/mysql-connect.ts';
import { applyAlter, DdlApplyError, schemaOfCreate, undoAlter } from './ddl-apply.ts';
import { changesTable, interpretDdl, type DdlEffect, type TableRef } from './ddl-statement.ts';
import { abbreviate, describeEntry, type HistoryEntry, type SchemaHistory } from './schema-history.ts';
import { readServerTable } from './server-schema.ts';
import { StatementScanner, type LoggedStatement } from './statement-scan.ts';
import { sameColumnNames, tableKey, type TableSchema } from './table-columns.ts';

export interface SchemaTrackerOptions {
  history: SchemaHistory;
  connection: MysqlServerOptions;
  /** Whether the routing captures the table; only captured tables (and those already in the history) are tracked. */
  isCaptured(schema: string, table: string): boolean;
  logger: Logger;
}

/** What the server says about a table as of an older position. */
interface ServerView {
  /** The columns now; undefined when information_schema shows no such table. */
  now: TableSchema | undefined;
  /** Statements between the position and the read that may have changed the table, oldest first. */
  later: LoggedStatement[];
}

const STATEMENT_KEPT = 2000;

export class SchemaTracker {
  private control: Promise<mysql.Connection> | undefined;
  private readonly scanner = new StatementScanner(() => this.connection());
  /** Entries worked out from statements that the server's columns were compared with in this run. */
  private readonly checked = new WeakSet<HistoryEntry>();

  constructor(private readonly options: SchemaTrackerOptions) {}

  /**
   * Records what a statement read from the stream does to tracked tables. `before` is the boundary
   * before it, `after` the one after it, from where the new entries hold. Returns the tables it
   * changed, whose cached column descriptions must go.
   */
  onStatement(statement: string, defaultSchema: string, before: BinlogPosition, after: BinlogPosition): TableRef[] {
    const effect = interpretDdl(statement, defaultSchema);
    const statementAt = describePosition(after);
    const kept = abbreviate(statement, STATEMENT_KEPT);
    const changed: TableRef[] = [];
    for (const [key, { ref, change }] of this.changesOf(effect, before)) {
      if (!this.options.history.has(key) && !this.options.isCaptured(ref.schema, ref.table)) continue;
      changed.push(ref);
      // A replay keeps what its first pass recorded here: that was worked out nearer the time.
      if (this.options.history.entryAt(key, after)) continue;
      this.options.history.record({ ...change, table: key, from: after, statement: kept, statementAt });
      if (change.state === 'unknown') {
        this.options.logger.warn(
          { table: key, statement: kept, position: statementAt, reason: change.reason },
          'a statement changed a captured table in a way sluice does not follow; its columns will be read from the server',
        );
      }
    }
    return changed;
  }

  /** The columns of schema.table at `at`, the boundary before the transaction of a TableMap event. */
  async columnsAt(schema: string, table: string, at: BinlogPosition): Promise<{ schema: TableSchema; source: string }> {
    const key = tableKey(schema, table);
    const entry = this.options.history.lookup(key, at);
    if (entry?.state === 'columns' && (entry.source === 'information_schema' || this.checked.has(entry))) return { schema: entry.schema, source: describeEntry(entry) };
    const found =
      !entry || entry.state === 'dropped'
        ? await this.firstSight(schema, table, key, at)
        : entry.state === 'unknown'
          ? await this.resolve(schema, table, entry)
          : await this.check(schema, table, entry);
    // What the server said is kept at once, not only at the next checkpoint: the stream waited for
    // it, and a restart before that checkpoint would otherwise have to ask again.
    await this.options.history.save();
    return found;
  }

  async close(): Promise<void> {
    const control = this.control;
    this.control = undefined;
    if (control) await (await control.catch(() => undefined))?.end().catch(() => undefined);
  }

  // ---- statements ------------------------------------------------------------------------------

  /** The new state of each table the statement changes, by key, in statement order. */
  private changesOf(effect: DdlEffect, before: BinlogPosition): Map<string, { ref: TableRef; change: ChangeResult }> {
    const result = new Map<string, { ref: TableRef; change: ChangeResult }>();
    const set = (ref: TableRef, change: ChangeResult): void => {
      result.set(refKey(ref), { ref, change });
    };
    // What each table is just before the statement, updated as a multi-table statement goes on.
    const current = (ref: TableRef): HistoryEntry | ChangeResult | undefined => result.get(refKey(ref))?.change ?? this.options.history.lookup(refKey(ref), before);
    const unknown = (reason: string): ChangeResult => ({ state: 'unknown', reason });
    switch (effect.kind) {
      case 'none':
        break;
      case 'create': {
        const existing = current(effect.table);
        if (effect.ifNotExists && existing && existing.state !== 'dropped') break;
        if (effect.ifNotExists && !existing) set(effect.table, unknown('CREATE TABLE IF NOT EXISTS, and sluice did not know whether the table existed before'));
        else set(effect.table, { state: 'columns', schema: schemaOfCreate(effect), source: 'statement' });
        break;
      }
      case 'create-like': {
        const existing = current(effect.table);
        if (effect.ifNotExists && existing && existing.state !== 'dropped') break;
        const like = current(effect.like);
        set(
          effect.table,
          like?.state === 'columns' ? { state: 'columns', schema: like.schema, source: 'statement' } : unknown(`CREATE TABLE ... LIKE ${refKey(effect.like)}, whose columns sluice does not know`),
        );
        break;
      }
      case 'alter': {
        let next = current(effect.table);
        if (effect.actions.length > 0) {
          if (next?.state === 'columns') {
            try {
              next = { state: 'columns', schema: applyAlter(next.schema, effect.actions), source: 'statement' };
            } catch (error) {
              if (!(error instanceof DdlApplyError)) throw error;
              next = unknown(error.message);
            }
          } else {
            next = unknown(next ? `the table's columns before it were not known (${next.state === 'unknown' ? next.reason : 'dropped'})` : 'sluice had no columns for the table before it');
          }
          set(effect.table, asChange(next));
        }
        if (effect.renameTo) {
          set(effect.renameTo, next ? asChange(next) : unknown('the table was renamed from one sluice did not track'));
          set(effect.table, { state: 'dropped' });
        }
        break;
      }
      case 'rename':
        for (const { from, to } of effect.pairs) {
          const moved = current(from);
          set(to, moved && moved.state !== 'dropped' ? asChange(moved) : unknown(`renamed from ${refKey(from)}, whose columns sluice did not know`));
          set(from, { state: 'dropped' });
        }
        break;
      case 'drop':
        for (const ref of effect.tables) set(ref, { state: 'dropped' });
        break;
      case 'drop-schema':
        for (const key of this.options.history.tables()) {
          const [schema, table] = splitKey(key);
          if (schema === effect.schema.toLowerCase()) set({ schema, table }, { state: 'dropped' });
        }
        break;
      case 'unknown':
        for (const ref of effect.tables) set(ref, unknown(effect.reason));
        break;
    }
    return result;
  }

  // ---- the server ------------------------------------------------------------------------------

  /** A table without an entry at `at`: information_schema, if nothing changed the table since `at`, or with the changes undone. */
  private async firstSight(schema: string, table: string, key: string, at: BinlogPosition): Promise<{ schema: TableSchema; source: string }> {
    const view = await this.serverView(schema, table, at);
    const columns = this.undone(schema, table, view, at, undefined);
    this.options.history.record({ table: key, from: at, state: 'columns', schema: columns, source: 'information_schema' });
    return { schema: columns, source: `information_schema, as of ${describePosition(at)}` };
  }

  /** An entry left unknown by a statement sluice could not follow: the server's columns, if they can be carried back to it. */
  private async resolve(schema: string, table: string, entry: Extract<HistoryEntry, { state: 'unknown' }>): Promise<{ schema: TableSchema; source: string }> {
    const view = await this.serverView(schema, table, entry.from);
    const columns = this.undone(schema, table, view, entry.from, entry);
    this.options.history.record({ ...withoutState(entry), state: 'columns', schema: columns, source: 'information_schema' });
    this.options.logger.info({ table: entry.table, position: entry.statementAt, columns: columns.columns.map((column) => column.name) }, 'columns after the statement read from information_schema');
    return { schema: columns, source: `information_schema, as of ${describePosition(entry.from)}` };
  }

  /** Compares an entry worked out from statements with the server's columns, where those can be carried back to it. */
  private async check(schema: string, table: string, entry: Extract<HistoryEntry, { state: 'columns' }>): Promise<{ schema: TableSchema; source: string }> {
    this.checked.add(entry);
    let view: ServerView;
    try {
      view = await this.serverView(schema, table, entry.from);
    } catch (error) {
      // Only a check: the statements already say what the columns are.
      this.options.logger.warn({ table: entry.table, position: entry.statementAt, err: error }, 'could not compare the columns worked out from the statement with the server');
      return { schema: entry.schema, source: describeEntry(entry) };
    }
    let server: TableSchema;
    try {
      server = this.undone(schema, table, view, entry.from, entry);
    } catch (error) {
      if (!(error instanceof SluiceError)) throw error;
      // Changed again since, in a way that cannot be undone: the statements are all there is.
      return { schema: entry.schema, source: describeEntry(entry) };
    }
    if (!sameColumnNames(server.columns, entry.schema.columns) || !sameMembers(server, entry.schema)) {
      this.options.logger.warn(
        { table: entry.table, position: entry.statementAt, fromStatement: entry.schema.columns.map((column) => column.name), fromServer: server.columns.map((column) => column.name) },
        "the columns worked out from the statement differ from the server's; the server's are used",
      );
    }
    const upgraded: HistoryEntry = { ...withoutState(entry), state: 'columns', schema: server, source: 'information_schema' };
    this.checked.add(upgraded);
    this.options.history.record(upgraded);
    return { schema: server, source: describeEntry(upgraded) };
  }

  private async serverView(schema: string, table: string, from: BinlogPosition): Promise<ServerView> {
    try {
      const connection = await this.connection();
      const read = await readServerTable(connection, schema, table);
      const started = performance.now();
      const statements = await this.scanner.between(from, read.head);
      const ms = Math.round(performance.now() - started);
      if (ms > 1000) this.options.logger.info({ table: `${schema}.${table}`, from: describePosition(from), to: read.head, ms }, 'read the binlog ahead for statements that changed the table');
      const later = statements.filter((statement) => changesTable(interpretDdl(statement.statement, statement.defaultSchema), schema, table));
      return { now: read.schema, later };
    } catch (error) {
      if (error instanceof SluiceError) throw error;
      // A new connection for the next attempt; a lost one is worth retrying, a refused query is not.
      const control = this.control;
      this.control = undefined;
      void control?.then((connection) => connection.destroy()).catch(() => undefined);
      const { host, port } = this.options.connection;
      throw new SluiceError(
        'SLUICE_SCHEMA_HISTORY',
        `cannot read the columns of ${schema}.${table} at binlog position ${describePosition(from)} from ${host}:${port} ` +
          `(information_schema.COLUMNS, SHOW MASTER STATUS, SHOW BINLOG EVENTS): ${(error as Error).message}`,
        { cause: error, retriable: isTransient(error), context: { table: `${schema}.${table}`, position: describePosition(from), server: `${host}:${port}` } },
      );
    }
  }

  /** The server's columns carried back over the statements since `at`; throws, naming the statement, where that cannot be done. */
  private undone(schema: string, table: string, view: ServerView, at: BinlogPosition, entry: HistoryEntry | undefined): TableSchema {
    const name = `${schema}.${table}`;
    const origin = entry?.statement ? ` (the columns after the statement at ${entry.statementAt}: ${abbreviate(entry.statement)})` : '';
    if (!view.now) {
      throw new SluiceError(
        'SLUICE_SCHEMA_HISTORY',
        `table ${name} at binlog position ${describePosition(at)}${origin}: the binlog names no columns there (binlog_row_metadata is not FULL), ` +
          `and information_schema shows no table ${name} to the user '${this.options.connection.user}'` +
          (view.later.length > 0 ? `; it was changed since by the statement at ${view.later.at(-1)!.describe}: ${abbreviate(view.later.at(-1)!.statement)}` : '') +
          `. If the table exists, the user needs a privilege on it: GRANT SELECT ON ${quoteName(schema)}.* TO '${this.options.connection.user}'@'<host>'.`,
        { context: { table: name, position: describePosition(at) } },
      );
    }
    let columns = view.now;
    for (const statement of [...view.later].reverse()) {
      const effect = interpretDdl(statement.statement, statement.defaultSchema);
      try {
        if (effect.kind !== 'alter' || effect.renameTo) throw new DdlApplyError(`a ${effect.kind === 'alter' ? 'renaming ALTER TABLE' : effect.kind.toUpperCase()} statement cannot be undone`);
        columns = undoAlter(columns, effect.actions);
      } catch (error) {
        if (!(error instanceof DdlApplyError)) throw error;
        throw new SluiceError(
          'SLUICE_SCHEMA_HISTORY',
          `table ${name} at binlog position ${describePosition(at)}${origin}: the binlog names no columns there (binlog_row_metadata is not FULL), ` +
            `information_schema shows the table as it is now, and the statement at ${statement.describe} changed it in between: ${abbreviate(statement.statement)}. ` +
            `sluice cannot work back from it: ${error.message}. Nothing of the table from ${describePosition(at)} on has been written. ` +
            'Start from a position after that statement (`sluice checkpoint set`), or exclude the table (routing.exclude); ' +
            'with binlog_row_metadata=FULL the binlog names the columns itself, for changes written from then on.',
          { context: { table: name, position: describePosition(at), statement: abbreviate(statement.statement), statementPosition: statement.describe } },
        );
      }
    }
    return columns;
  }

  private connection(): Promise<mysql.Connection> {
    this.control ??= connectMysql(this.options.connection);
    return this.control;
  }
}

type ChangeResult =
  | { state: 'columns'; schema: TableSchema; source: 'information_schema' | 'statement' }
  | { state: 'unknown'; reason: string }
  | { state: 'dropped' };

function asChange(entry: HistoryEntry | ChangeResult): ChangeResult {
  if (entry.state === 'columns') return { state: 'columns', schema: entry.schema, source: 'statement' };
  if (entry.state === 'unknown') return { state: 'unknown', reason: entry.reason };
  return { state: 'dropped' };
}

function withoutState(entry: HistoryEntry): Pick<HistoryEntry, 'table' | 'from' | 'statement' | 'statementAt'> {
  const { table, from, statement, statementAt } = entry;
  return { table, from, ...(statement !== undefined ? { statement } : {}), ...(statementAt !== undefined ? { statementAt } : {}) };
}

function sameMembers(left: TableSchema, right: TableSchema): boolean {
  return left.columns.every((column, index) => (column.members ?? []).join('\u0000') === (right.columns[index]?.members ?? []).join('\u0000'));
}

function refKey(ref: TableRef): string {
  return tableKey(ref.schema, ref.table);
}

function splitKey(key: string): [string, string] {
  const dot = key.indexOf('.');
  return [key.slice(0, dot), key.slice(dot + 1)];
}

function quoteName(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}
