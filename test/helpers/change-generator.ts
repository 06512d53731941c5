// Drives a random, reproducible mix of changes against sharded source tables and remembers, in commit
// order, exactly which row images the binlog must carry. One connection, one transaction at a time, so
// commit order is the order of this log.
import type mysql from 'mysql2/promise';

export interface ExpectedChange {
  source: string;
  op: 'insert' | 'update' | 'delete';
  /** The row image a changelog row carries: after for insert/update, before for delete. */
  row: SourceRow;
}

export interface SourceRow {
  id: number;
  customer: string;
  amount: string;
  note: string | null;
  created: string;
  payload: Buffer;
}

export const SOURCE_TABLE_DDL = `(
  id INT NOT NULL PRIMARY KEY,
  customer VARCHAR(64) NOT NULL,
  amount DECIMAL(12,2) NOT NULL,
  note TEXT NULL,
  created DATETIME(6) NOT NULL,
  payload VARBINARY(16) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

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
// NULL marker's letters, multi-byte and 4-byte UTF-8.
const TRICKY = ['\x01', '\n', '\r', '\\', '\\N', 'N', '\t', 'é', '😀', '"', "'", ',', ' '];

export class ChangeGenerator {
  readonly log: ExpectedChange[] = [];
  private readonly rows = new Map<string, SourceRow>();
  private nextId = 1;
  private readonly random: () => number;

  constructor(
    private readonly connection: mysql.Connection,
    readonly tables: string[],
    seed: number,
  ) {
    this.random = prng(seed);
  }

  static async createTables(connection: mysql.Connection, tables: string[]): Promise<void> {
    for (const table of tables) {
      const [db] = table.split('.');
      await connection.query(`CREATE DATABASE IF NOT EXISTS \`${db}\``);
      await connection.query(`CREATE TABLE ${table} ${SOURCE_TABLE_DDL}`);
    }
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  private makeRow(id: number): SourceRow {
    const noteLength = Math.floor(this.random() * 12);
    let note = '';
    for (let i = 0; i < noteLength; i++) note += this.random() < 0.4 ? this.pick(TRICKY) : String.fromCharCode(97 + Math.floor(this.random() * 26));
    const micros = String(Math.floor(this.random() * 1_000_000)).padStart(6, '0');
    const day = String(1 + Math.floor(this.random() * 28)).padStart(2, '0');
    const second = String(Math.floor(this.random() * 60)).padStart(2, '0');
    const payload = Buffer.alloc(Math.floor(this.random() * 16));
    for (let i = 0; i < payload.length; i++) payload[i] = Math.floor(this.random() * 256);
    return {
      id,
      customer: `customer-${Math.floor(this.random() * 1000)}`,
      amount: `${Math.floor(this.random() * 1_000_000)}.${String(Math.floor(this.random() * 100)).padStart(2, '0')}`,
      note: this.random() < 0.1 ? null : note,
      created: `2026-02-${day} 12:34:${second}.${micros}`,
      payload,
    };
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
        if (roll < 0.5 || keys.length === 0) {
          const count = 1 + Math.floor(this.random() * 3);
          const rows = Array.from({ length: count }, () => this.makeRow(this.nextId++));
          await this.insertRows(table, rows);
          for (const row of rows) {
            staged.set(`${table}#${row.id}`, row);
            pending.push({ source: table, op: 'insert', row });
          }
        } else if (roll < 0.8) {
          const key = this.pick(keys);
          const old = staged.get(key)!;
          const fresh = { ...this.makeRow(old.id) };
          await this.connection.query(`UPDATE ${table} SET customer = ?, amount = ?, note = ?, created = ?, payload = ? WHERE id = ?`, [
            fresh.customer, fresh.amount, fresh.note, fresh.created, fresh.payload, old.id,
          ]);
          staged.set(key, fresh);
          pending.push({ source: table, op: 'update', row: fresh });
        } else {
          const key = this.pick(keys);
          const old = staged.get(key)!;
          await this.connection.query(`DELETE FROM ${table} WHERE id = ?`, [old.id]);
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

  /** One transaction inserting `count` rows into one table, in statements of 1000 rows. */
  async largeTransaction(count: number): Promise<void> {
    const table = this.tables[0]!;
    const pending: ExpectedChange[] = [];
    await this.connection.beginTransaction();
    try {
      for (let done = 0; done < count; done += 1000) {
        const rows = Array.from({ length: Math.min(1000, count - done) }, () => this.makeRow(this.nextId++));
        await this.insertRows(table, rows);
        for (const row of rows) pending.push({ source: table, op: 'insert', row });
      }
      await this.connection.commit();
    } catch (error) {
      await this.connection.rollback().catch(() => undefined);
      throw error;
    }
    for (const change of pending) this.rows.set(`${table}#${change.row.id}`, change.row);
    this.log.push(...pending);
  }

  private async insertRows(table: string, rows: SourceRow[]): Promise<void> {
    const placeholders = rows.map(() => '(?, ?, ?, ?, ?, ?)').join(', ');
    const values = rows.flatMap((row) => [row.id, row.customer, row.amount, row.note, row.created, row.payload]);
    await this.connection.query(`INSERT INTO ${table} (id, customer, amount, note, created, payload) VALUES ${placeholders}`, values);
  }
}
