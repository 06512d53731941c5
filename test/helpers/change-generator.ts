// Drives a random, reproducible mix of changes against sharded source tables and remembers, in commit
// order, exactly which row images the binlog must carry. One connection, one transaction at a time, so
// commit order is the order of this log. With schema changes on, the mix also alters the tables
// (columns added at the end and in the middle, dropped, widened), and the model follows: each image
// holds the columns its table had when it was written, keyed by name. With truncates on, it now and
// then empties a table (TRUNCATE, or DROP TABLE and CREATE TABLE with the columns it has then) and
// expects the marker row sluice writes for it.
import type mysql from 'mysql2/promise';

/** A value as the source holds it: decimal text for numbers and times, bytes for binary, or NULL. */
export type SourceValue = string | Buffer | null;
export type SourceRow = Record<string, SourceValue>;

export interface ExpectedChange {
  source: string;
  op: 'insert' | 'update' | 'delete' | 'truncate';
  /** The row image a changelog row carries: after for insert/update, before for delete; none for a truncate marker. */
  row: SourceRow;
}

type ColumnKind = 'int' | 'bigint' | 'varchar' | 'text' | 'decimal' | 'datetime' | 'varbinary';

interface SourceColumn {
  name: string;
  kind: ColumnKind;
  /** Characters of a varchar, bytes of a varbinary. */
  length?: number;
  nullable: boolean;
}

const KEY = 'id';

export const SOURCE_TABLE_DDL = `(
  id INT NOT NULL PRIMARY KEY,
  customer VARCHAR(64) NOT NULL,
  amount DECIMAL(12,2) NOT NULL,
  note TEXT NULL,
  created DATETIME(6) NOT NULL,
  payload VARBINARY(16) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

const SOURCE_COLUMNS: readonly SourceColumn[] = [
  { name: KEY, kind: 'int', nullable: false },
  { name: 'customer', kind: 'varchar', length: 64, nullable: false },
  { name: 'amount', kind: 'decimal', nullable: false },
  { name: 'note', kind: 'text', nullable: true },
  { name: 'created', kind: 'datetime', nullable: false },
  { name: 'payload', kind: 'varbinary', length: 16, nullable: false },
];

/** The columns of a table as created, before any schema change. */
export const SOURCE_COLUMN_NAMES: readonly string[] = SOURCE_COLUMNS.map((column) => column.name);

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Characters that break naive text formats: the field separator, newlines, the escape char, the
// NULL marker's letters, multi-byte and 4-byte UTF-8. None is longer than two characters.
const TRICKY = ['\x01', '\n', '\r', '\\', '\\N', 'N', '\t', 'é', '😀', '"', "'", ',', ' '];

const SCHEMA_CHANGE_ROTATION = ['add-int-end', 'add-varchar-middle', 'widen-int', 'drop', 'widen-varchar'] as const;

/** The ways the generator empties a table; each runs once early on (see randomChange), then at random. */
export const TABLE_RESET_KINDS = ['truncate', 'drop-create'] as const;
export type TableResetKind = (typeof TABLE_RESET_KINDS)[number];

export interface ChangeGeneratorOptions {
  /** Share of randomChange() calls that alter a table instead of writing rows; 0 keeps the tables as created. */
  schemaChangeRate?: number;
  /** Share of randomChange() calls that empty a table (TRUNCATE, or DROP + CREATE); 0 never does. */
  tableResetRate?: number;
  /**
   * Share of randomChange() calls that prepare an XA transaction on a second connection (when none
   * is prepared) or end the prepared one (COMMIT twice as often as ROLLBACK); 0: no XA.
   */
  xaRate?: number;
  /**
   * Share of updates that also move the row to a fresh primary key, expected as the old key's delete
   * and the new key's update (sinks/key-move.ts); 0 (the default) never does, and draws nothing from
   * the seed, so the workloads of the tests without it stay as they were. For current-state tests: the
   * two rows share one `_seq`, which a stream comparison by sequence number does not expect.
   */
  keyChangeRate?: number;
  /** Opens the second connection the XA transactions run on; needed when xaRate > 0. */
  openConnection?: () => Promise<mysql.Connection>;
}

/** A prepared XA transaction: its changes sit in the log where the binlog has them, at its PREPARE. */
interface PreparedXa {
  xid: string;
  changes: ExpectedChange[];
}

export class ChangeGenerator {
  readonly log: ExpectedChange[] = [];
  /** Each table's columns now, in the source's order. */
  private readonly columns = new Map<string, SourceColumn[]>();
  /** Every column name any table has had: what a changelog row may hold. */
  private readonly everNamed = new Set<string>(SOURCE_COLUMNS.map((column) => column.name));
  private readonly rows = new Map<string, SourceRow>();
  private nextId = 1;
  private nextColumn = 1;
  private steps = 0;
  private readonly random: () => number;
  private readonly schemaChangeRate: number;
  /** The statements of the schema changes made, in order, for the test's report. */
  readonly schemaChanges: string[] = [];
  private readonly tableResetRate: number;
  /** The tables emptied, in order, and how, for the test's report. */
  readonly tableResets: { table: string; kind: TableResetKind }[] = [];
  private readonly xaRate: number;
  private readonly keyChangeRate: number;
  /** Updates that moved a row to another key, for the test's report. */
  keyChanges = 0;
  private xaConnection: mysql.Connection | undefined;
  private prepared: PreparedXa | undefined;
  private xaCount = 0;
  /** XA transactions by outcome, for the test's report. */
  readonly xaOutcomes = { committed: 0, rolledBack: 0 };

  constructor(
    private readonly connection: mysql.Connection,
    readonly tables: string[],
    seed: number,
    options: ChangeGeneratorOptions = {},
  ) {
    this.random = prng(seed);
    this.schemaChangeRate = options.schemaChangeRate ?? 0;
    this.tableResetRate = options.tableResetRate ?? 0;
    this.xaRate = options.xaRate ?? 0;
    this.keyChangeRate = options.keyChangeRate ?? 0;
    this.openConnection = options.openConnection;
    for (const table of tables) this.columns.set(table, [...SOURCE_COLUMNS]);
  }

  private readonly openConnection: (() => Promise<mysql.Connection>) | undefined;

  static async createTables(connection: mysql.Connection, tables: string[]): Promise<void> {
    for (const table of tables) {
      const [db] = table.split('.');
      await connection.query(`CREATE DATABASE IF NOT EXISTS \`${db}\``);
      await connection.query(`CREATE TABLE ${table} ${SOURCE_TABLE_DDL}`);
    }
  }

  /** Every source column name, dropped ones included: the columns to compare a changelog row on. */
  get columnNames(): string[] {
    return [...this.everNamed];
  }

  /**
   * A random transaction, or now and then (schemaChangeRate) a random schema change, or
   * (tableResetRate) a table emptied.
   */
  async randomChange(): Promise<void> {
    this.steps++;
    // Every twentieth step until each kind of change has run once, so even a short run has them all.
    const due = this.random() < this.schemaChangeRate || (this.schemaChanges.length < SCHEMA_CHANGE_ROTATION.length && this.steps % 20 === 0);
    if (this.schemaChangeRate > 0 && due) return this.randomSchemaChange();
    // Likewise, ten steps out of phase, for the ways of emptying a table.
    const resetDue =
      this.tableResetRate > 0 && (this.random() < this.tableResetRate || (this.tableResets.length < TABLE_RESET_KINDS.length && this.steps % 20 === 10));
    if (resetDue && (await this.randomTableReset())) return;
    if (this.xaRate > 0 && this.random() < this.xaRate) return this.xaStep();
    await this.randomTransaction();
  }

  /**
   * Empties one table that holds rows: TRUNCATE, or DROP TABLE and CREATE TABLE again with the
   * columns it has now (schema changes included, so the re-created table goes on as it was). Either
   * way the changelog gets one truncate marker for that table, and the model forgets its rows, so
   * later updates and deletes pick rows that exist. Only a table with rows: the sink writes no
   * marker into a target that holds none yet. False when no table holds rows. `asked`: this way, not
   * the next of the rotation.
   */
  async randomTableReset(asked?: TableResetKind): Promise<boolean> {
    const filled = this.tables.filter((table) => [...this.rows.keys()].some((key) => key.startsWith(`${table}#`)));
    if (filled.length === 0) return false;
    const table = this.pick(filled);
    const kind = asked ?? TABLE_RESET_KINDS[this.tableResets.length] ?? this.pick(TABLE_RESET_KINDS);
    // A prepared XA transaction holds the table's metadata lock: TRUNCATE and DROP would wait for it.
    await this.finishXa();
    if (kind === 'truncate') {
      await this.connection.query(`TRUNCATE TABLE ${table}`);
    } else {
      await this.connection.query(`DROP TABLE ${table}`);
      await this.connection.query(`CREATE TABLE ${table} (${this.columnsOf(table).map(columnDefinition).join(', ')}, PRIMARY KEY (${KEY})) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
    }
    for (const key of [...this.rows.keys()]) if (key.startsWith(`${table}#`)) this.rows.delete(key);
    this.log.push({ source: table, op: 'truncate', row: {} });
    this.tableResets.push({ table, kind });
    return true;
  }

  /**
   * Prepares an XA transaction, or ends the prepared one; the ordinary transactions go on in between.
   * It only inserts new rows and updates them, so the other connection never waits for its locks (and
   * a schema change waits for none: an ALTER would block on the prepared transaction's metadata lock,
   * so schema changes happen only while none is prepared).
   */
  private async xaStep(): Promise<void> {
    if (this.prepared) {
      // The first two go one way each, so even a short run has both.
      const { committed, rolledBack } = this.xaOutcomes;
      const commit = committed === 0 || (rolledBack > 0 && this.random() < 2 / 3);
      return this.finishXa(commit ? 'COMMIT' : 'ROLLBACK');
    }
    this.xaConnection ??= await this.openConnection!();
    const connection = this.xaConnection;
    const xid = `gen-${++this.xaCount}`;
    const table = this.pick(this.tables);
    const changes: ExpectedChange[] = [];
    await connection.query(`XA START '${xid}'`);
    const rows = Array.from({ length: 1 + Math.floor(this.random() * 3) }, () => this.makeRow(table, this.nextId++));
    await this.insertRows(table, rows, connection);
    for (const row of rows) changes.push({ source: table, op: 'insert', row });
    const fresh = this.freshValues(table, rows[0]!);
    if (fresh && this.random() < 0.5) {
      const assignments = Object.keys(fresh).filter((name) => name !== KEY);
      await connection.query(`UPDATE ${table} SET ${assignments.map((name) => `\`${name}\` = ?`).join(', ')} WHERE id = ?`, [...assignments.map((name) => fresh[name]), fresh[KEY]]);
      changes.push({ source: table, op: 'update', row: fresh });
    }
    await connection.query(`XA END '${xid}'`);
    await connection.query(`XA PREPARE '${xid}'`);
    this.prepared = { xid, changes };
    this.log.push(...changes);
  }

  /** Ends the prepared XA transaction, if there is one: its changes stay in the log, or leave it. */
  async finishXa(how: 'COMMIT' | 'ROLLBACK' = 'COMMIT'): Promise<void> {
    const prepared = this.prepared;
    if (!prepared) return;
    await this.xaConnection!.query(`XA ${how} '${prepared.xid}'`);
    this.prepared = undefined;
    if (how === 'ROLLBACK') {
      const first = this.log.indexOf(prepared.changes[0]!);
      this.log.splice(first, prepared.changes.length);
      this.xaOutcomes.rolledBack++;
      return;
    }
    for (const change of prepared.changes) this.rows.set(`${change.source}#${change.row[KEY]}`, change.row);
    this.xaOutcomes.committed++;
  }

  async close(): Promise<void> {
    await this.finishXa();
    await this.xaConnection?.end();
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  private columnsOf(table: string): SourceColumn[] {
    return this.columns.get(table)!;
  }

  private text(maxPieces: number): string {
    const pieces = Math.floor(this.random() * (maxPieces + 1));
    let text = '';
    for (let i = 0; i < pieces; i++) text += this.random() < 0.4 ? this.pick(TRICKY) : String.fromCharCode(97 + Math.floor(this.random() * 26));
    return text;
  }

  private value(column: SourceColumn): SourceValue {
    if (column.nullable && this.random() < 0.1) return null;
    switch (column.kind) {
      case 'int':
        return String(Math.floor(this.random() * 4e9) - 2e9);
      case 'bigint':
        // Past the int range, so a widened column shows it holds what int could not.
        return String(Math.floor(this.random() * 9e15) - 4.5e15);
      case 'varchar':
        return column.name === 'customer' && this.random() < 0.5 ? `customer-${Math.floor(this.random() * 1000)}` : this.text(Math.min(12, Math.floor(column.length! / 2)));
      case 'text':
        return this.text(11);
      case 'decimal':
        return `${Math.floor(this.random() * 1_000_000)}.${String(Math.floor(this.random() * 100)).padStart(2, '0')}`;
      case 'datetime': {
        const micros = String(Math.floor(this.random() * 1_000_000)).padStart(6, '0');
        const day = String(1 + Math.floor(this.random() * 28)).padStart(2, '0');
        const second = String(Math.floor(this.random() * 60)).padStart(2, '0');
        return `2026-02-${day} 12:34:${second}.${micros}`;
      }
      case 'varbinary': {
        const payload = Buffer.alloc(Math.floor(this.random() * (column.length! + 1)));
        for (let i = 0; i < payload.length; i++) payload[i] = Math.floor(this.random() * 256);
        return payload;
      }
    }
  }

  private makeRow(table: string, id: number): SourceRow {
    const row: SourceRow = {};
    for (const column of this.columnsOf(table)) row[column.name] = column.name === KEY ? String(id) : this.value(column);
    return row;
  }

  /** One transaction of 1..maxStatements random statements. */
  async randomTransaction(maxStatements = 5): Promise<void> {
    const statements = 1 + Math.floor(this.random() * maxStatements);
    const pending: ExpectedChange[] = [];
    const staged = new Map(this.rows);
    await this.connection.beginTransaction();
    try {
      for (let i = 0; i < statements; i++) {
        const table = this.pick(this.tables);
        const keys = [...staged.keys()].filter((key) => key.startsWith(`${table}#`));
        const roll = this.random();
        const fresh = roll >= 0.5 && roll < 0.8 && keys.length > 0 ? this.freshValues(table, staged.get(this.pick(keys))!) : undefined;
        if (roll < 0.5 || keys.length === 0 || (roll < 0.8 && !fresh)) {
          const count = 1 + Math.floor(this.random() * 3);
          const rows = Array.from({ length: count }, () => this.makeRow(table, this.nextId++));
          await this.insertRows(table, rows);
          for (const row of rows) {
            staged.set(`${table}#${row[KEY]}`, row);
            pending.push({ source: table, op: 'insert', row });
          }
        } else if (fresh && this.keyChangeRate > 0 && this.random() < this.keyChangeRate) {
          const old = staged.get(`${table}#${fresh[KEY]}`)!;
          const moved: SourceRow = { ...fresh, [KEY]: String(this.nextId++) };
          const assignments = Object.keys(moved);
          await this.connection.query(`UPDATE ${table} SET ${assignments.map((name) => `\`${name}\` = ?`).join(', ')} WHERE id = ?`, [
            ...assignments.map((name) => moved[name]),
            old[KEY],
          ]);
          staged.delete(`${table}#${old[KEY]}`);
          staged.set(`${table}#${moved[KEY]}`, moved);
          pending.push({ source: table, op: 'delete', row: old }, { source: table, op: 'update', row: moved });
          this.keyChanges++;
        } else if (fresh) {
          const assignments = Object.keys(fresh).filter((name) => name !== KEY);
          await this.connection.query(`UPDATE ${table} SET ${assignments.map((name) => `\`${name}\` = ?`).join(', ')} WHERE id = ?`, [
            ...assignments.map((name) => fresh[name]),
            fresh[KEY],
          ]);
          staged.set(`${table}#${fresh[KEY]}`, fresh);
          pending.push({ source: table, op: 'update', row: fresh });
        } else {
          const key = this.pick(keys);
          const old = staged.get(key)!;
          await this.connection.query(`DELETE FROM ${table} WHERE id = ?`, [old[KEY]]);
          staged.delete(key);
          pending.push({ source: table, op: 'delete', row: old });
        }
      }
      await this.connection.commit();
    } catch (error) {
      await this.connection.rollback().catch(() => undefined);
      throw error;
    }
    this.rows.clear();
    for (const [key, row] of staged) this.rows.set(key, row);
    this.log.push(...pending);
  }

  /**
   * New values for every column but the key, or undefined when they all came out as they were: the
   * server logs no row event for an update that changes nothing, so the model must not expect one.
   */
  private freshValues(table: string, old: SourceRow): SourceRow | undefined {
    const fresh = this.makeRow(table, Number(old[KEY]));
    const changed = Object.keys(fresh).some((name) => !sameValue(fresh[name]!, old[name] ?? null));
    return changed ? fresh : undefined;
  }

  /** One transaction inserting `count` rows into one table, in statements of 1000 rows. */
  async largeTransaction(count: number): Promise<void> {
    const table = this.tables[0]!;
    const pending: ExpectedChange[] = [];
    await this.connection.beginTransaction();
    try {
      for (let done = 0; done < count; done += 1000) {
        const rows = Array.from({ length: Math.min(1000, count - done) }, () => this.makeRow(table, this.nextId++));
        await this.insertRows(table, rows);
        for (const row of rows) pending.push({ source: table, op: 'insert', row });
      }
      await this.connection.commit();
    } catch (error) {
      await this.connection.rollback().catch(() => undefined);
      throw error;
    }
    for (const change of pending) this.rows.set(`${table}#${change.row[KEY]}`, change.row);
    this.log.push(...pending);
  }

  /**
   * ADD COLUMN at the end or in the middle, DROP COLUMN, or a widening MODIFY (INT to BIGINT, a longer
   * VARCHAR). The first five go through each kind once, so every run has them all; then at random.
   */
  async randomSchemaChange(): Promise<void> {
    await this.finishXa();
    const kind = SCHEMA_CHANGE_ROTATION[this.schemaChanges.length] ?? this.pick(['add', 'add', 'drop', 'widen-int', 'widen-varchar'] as const);
    const candidates = (keep: (column: SourceColumn, others: number) => boolean): [string, SourceColumn][] =>
      this.tables.flatMap((table) => {
        const others = this.columnsOf(table).filter((column) => column.name !== KEY);
        return others.filter((column) => keep(column, others.length)).map((column): [string, SourceColumn] => [table, column]);
      });
    // Dropping stops at two columns besides the key, so an update always has something to change.
    const found =
      kind === 'drop'
        ? candidates((_, others) => others > 2)
        : kind === 'widen-int'
          ? candidates((column) => column.kind === 'int')
          : kind === 'widen-varchar'
            ? candidates((column) => column.kind === 'varchar' && column.length! < 120)
            : [];
    if (found.length > 0) {
      const [table, column] = this.pick(found);
      return kind === 'drop' ? this.dropColumn(table, column) : this.widenColumn(table, column);
    }
    const table = this.pick(this.tables);
    const type = kind === 'add-int-end' ? 'int' : kind === 'add-varchar-middle' ? 'varchar' : this.random() < 0.5 ? 'int' : 'varchar';
    const middle = kind === 'add-varchar-middle' || (kind === 'add' && this.random() < 0.5);
    // AFTER the last column would be the end again: pick among the others.
    const columns = this.columnsOf(table);
    return this.addColumn(table, type, middle ? this.pick(columns.slice(0, -1)).name : undefined);
  }

  private async addColumn(table: string, type: 'int' | 'varchar', after: string | undefined): Promise<void> {
    const name = `c${this.nextColumn++}`;
    const column: SourceColumn =
      type === 'int' ? { name, kind: 'int', nullable: true } : { name, kind: 'varchar', length: 8 + Math.floor(this.random() * 16), nullable: true };
    await this.alter(table, `ADD COLUMN \`${column.name}\` ${sqlType(column)} NULL${after ? ` AFTER \`${after}\`` : ''}`);
    const columns = this.columnsOf(table);
    columns.splice(after ? columns.findIndex((existing) => existing.name === after) + 1 : columns.length, 0, column);
    this.everNamed.add(column.name);
    // The rows already there hold NULL in it; images taken before stay as they were.
    this.mapRows(table, (row) => ({ ...row, [column.name]: null }));
  }

  private async dropColumn(table: string, column: SourceColumn): Promise<void> {
    await this.alter(table, `DROP COLUMN \`${column.name}\``);
    this.columns.set(table, this.columnsOf(table).filter((existing) => existing !== column));
    this.mapRows(table, (row) => {
      const { [column.name]: _dropped, ...rest } = row;
      return rest;
    });
  }

  private async widenColumn(table: string, column: SourceColumn): Promise<void> {
    const wider: SourceColumn =
      column.kind === 'int' ? { ...column, kind: 'bigint' } : { ...column, length: column.length! + 4 + Math.floor(this.random() * 8) };
    await this.alter(table, `MODIFY ${columnDefinition(wider)}`);
    this.columns.set(table, this.columnsOf(table).map((existing) => (existing === column ? wider : existing)));
  }

  private async alter(table: string, change: string): Promise<void> {
    const statement = `ALTER TABLE ${table} ${change}`;
    await this.connection.query(statement);
    this.schemaChanges.push(statement);
  }

  private mapRows(table: string, change: (row: SourceRow) => SourceRow): void {
    for (const [key, row] of this.rows) if (key.startsWith(`${table}#`)) this.rows.set(key, change(row));
  }

  private async insertRows(table: string, rows: SourceRow[], connection = this.connection): Promise<void> {
    const names = this.columnsOf(table).map((column) => column.name);
    const placeholders = rows.map(() => `(${names.map(() => '?').join(', ')})`).join(', ');
    const values = rows.flatMap((row) => names.map((name) => row[name] ?? null));
    await connection.query(`INSERT INTO ${table} (${names.map((name) => `\`${name}\``).join(', ')}) VALUES ${placeholders}`, values);
  }
}

function sqlType(column: SourceColumn): string {
  switch (column.kind) {
    case 'int':
      return 'INT';
    case 'bigint':
      return 'BIGINT';
    case 'varchar':
      return `VARCHAR(${column.length})`;
    case 'text':
      return 'TEXT';
    case 'decimal':
      return 'DECIMAL(12,2)';
    case 'datetime':
      return 'DATETIME(6)';
    case 'varbinary':
      return `VARBINARY(${column.length})`;
  }
}

function columnDefinition(column: SourceColumn): string {
  return `\`${column.name}\` ${sqlType(column)} ${column.nullable ? 'NULL' : 'NOT NULL'}`;
}

function sameValue(left: SourceValue, right: SourceValue): boolean {
  if (Buffer.isBuffer(left) || Buffer.isBuffer(right)) return Buffer.isBuffer(left) && Buffer.isBuffer(right) && left.equals(right);
  return left === right;
}
