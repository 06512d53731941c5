// A second table for the crash test that Hive stops following mid-run: its DECIMAL(38,0) column is
// changed to DECIMAL(38,10) while it holds 27-digit values, a change no Hive decimal can hold. The
// daemon stops that table and goes on with the others; later the harness changes the Hive column to
// a string (the user's fix), and the next starts catch the table up, with kills landing meanwhile.
import type mysql from 'mysql2/promise';
import { prng } from './change-generator.ts';
import type { TableRow } from './warehouse.ts';

export interface StoppingTableChange {
  op: 'insert' | 'update';
  id: number;
  /** The value as the server shows it at the time of the change. */
  d: string;
}

export class StoppingTable {
  readonly log: StoppingTableChange[] = [];
  private readonly random: () => number;
  private ids = 0;
  private scale = 0;
  modified = false;

  constructor(
    private readonly connection: mysql.Connection,
    readonly table: string,
    seed: number,
  ) {
    this.random = prng(seed + 7);
  }

  static async create(connection: mysql.Connection, table: string): Promise<void> {
    const [db] = table.split('.');
    await connection.query(`CREATE DATABASE IF NOT EXISTS \`${db}\``);
    await connection.query(`CREATE TABLE ${table} (id INT PRIMARY KEY, d DECIMAL(38,0))`);
  }

  /** One autocommitted insert or update. */
  async change(): Promise<void> {
    const update = this.ids > 0 && this.random() < 0.4;
    const id = update ? 1 + Math.floor(this.random() * this.ids) : ++this.ids;
    const d = this.value();
    if (update) await this.connection.query(`UPDATE ${this.table} SET d = ${d} WHERE id = ${id}`);
    else await this.connection.query(`INSERT INTO ${this.table} VALUES (${id}, ${d})`);
    this.log.push({ op: update ? 'update' : 'insert', id, d });
  }

  /** The change Hive cannot follow: 27 integer digits stay, 10 decimals come. */
  async modify(): Promise<void> {
    await this.connection.query(`ALTER TABLE ${this.table} MODIFY d DECIMAL(38,10)`);
    this.scale = 10;
    this.modified = true;
  }

  /** A value of up to 27 digits, as the server shows it in the column's current scale. */
  private value(): string {
    let digits = String(1 + Math.floor(this.random() * 9));
    const length = 1 + Math.floor(this.random() * 26);
    for (let index = 0; index < length; index++) digits += String(Math.floor(this.random() * 10));
    if (this.scale === 0) return digits;
    return `${digits}.${String(Math.floor(this.random() * 1e10)).padStart(10, '0')}`;
  }
}

/** The table's rows must be its change log, in order: every change once. */
export function sameStoppingTableStream(rows: TableRow[], log: readonly StoppingTableChange[]): string | undefined {
  const actual = rows.map((row) => `${String(row._op)} ${String(row.id)} ${String(row.d)}`);
  const expected = log.map((change) => `${change.op} ${change.id} ${change.d}`);
  if (new Set(rows.map((row) => String(row._seq))).size !== rows.length) return 'a sequence number appears twice';
  for (let index = 0; index < Math.max(actual.length, expected.length); index++) {
    if (actual[index] !== expected[index]) return `change #${index} of ${expected.length}: Hive has '${actual[index]}', the source wrote '${expected[index]}' (Hive holds ${rows.length} rows)`;
  }
  return undefined;
}
