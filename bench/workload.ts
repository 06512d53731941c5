// The benchmark's data: every row is a pure function of its id, so the committed output can be checked
// value by value without keeping the source rows in memory.
//
// Small transactions (1000 row changes each): 900 inserts (1000 in the first), 80 updates and 20
// deletes of rows the previous transaction inserted. Then one large transaction of inserts only,
// sent as multi-row INSERT statements between one BEGIN and COMMIT.
import type mysql from 'mysql2/promise';
import type { CellValue } from '../src/core/change-event.ts';

export const BENCH_DATABASE = 'bench';
export const BENCH_TABLE = 'changes';

export const BENCH_TABLE_DDL = `CREATE TABLE ${BENCH_DATABASE}.${BENCH_TABLE} (
  id BIGINT NOT NULL PRIMARY KEY,
  qty INT NOT NULL,
  name VARCHAR(64) NOT NULL,
  amount DECIMAL(12,2) NOT NULL,
  created DATETIME(6) NOT NULL,
  note TEXT NULL,
  score DOUBLE NOT NULL,
  payload VARBINARY(32) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

export interface BenchRow {
  id: number;
  qty: number;
  name: string;
  amount: string;
  created: string;
  note: string | null;
  score: number;
  payload: Buffer;
}

// Values that exercise escaping on both sides: SQL quoting, Hive's separators and escapes, multi-byte UTF-8.
const NAME_SUFFIXES = ['', 'é', '😀', '\t', '\\', "'", '\n', '\x01'];
const BASE_MS = Date.UTC(2024, 0, 1);

export function rowFor(id: number): BenchRow {
  const qty = Math.imul(id, 2654435761 | 0) | 0;
  const cents = (id * 37) % 10_000_000_000;
  const negative = id % 3 === 0 && cents > 0;
  const amount = `${negative ? '-' : ''}${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
  const seconds = (id * 7919) % (365 * 86400);
  const micros = (id * 13) % 1_000_000;
  const created = new Date(BASE_MS + seconds * 1000).toISOString().slice(0, 19).replace('T', ' ') + '.' + String(micros).padStart(6, '0');
  const note = id % 5 === 0 ? null : `note ${id} ${'x'.repeat(id % 60)}`;
  const score = ((id % 2 === 1 ? -1 : 1) * id) / 3;
  const payload = Buffer.allocUnsafe(id % 33);
  for (let j = 0; j < payload.length; j++) payload[j] = (id * 31 + j * 17) & 0xff;
  return { id, qty, name: `n${id}${NAME_SUFFIXES[id % NAME_SUFFIXES.length]}`, amount, created, note, score, payload };
}

/** The after image of the benchmark's UPDATE statement (see UPDATE_SET). */
export function updatedRow(row: BenchRow): BenchRow {
  return { ...row, qty: Math.trunc(row.qty / 2), name: row.name + 'u', score: row.score * 2 };
}

const UPDATE_SET = `qty = qty DIV 2, name = CONCAT(name, 'u'), score = score * 2`;

function sqlString(text: string): string {
  return `'${text.replace(/[\\'\0\n\r\x1a]/g, (char) => (char === '\n' ? '\\n' : char === '\r' ? '\\r' : char === '\0' ? '\\0' : char === '\x1a' ? '\\Z' : '\\' + char))}'`;
}

function sqlTuple(row: BenchRow): string {
  return `(${row.id},${row.qty},${sqlString(row.name)},${row.amount},'${row.created}',${row.note === null ? 'NULL' : sqlString(row.note)},${String(row.score)},X'${row.payload.toString('hex')}')`;
}

export function insertSql(firstId: number, count: number): string {
  const tuples: string[] = new Array(count);
  for (let i = 0; i < count; i++) tuples[i] = sqlTuple(rowFor(firstId + i));
  return `INSERT INTO ${BENCH_DATABASE}.${BENCH_TABLE} (id, qty, name, amount, created, note, score, payload) VALUES ${tuples.join(',')}`;
}

export interface OpCounts {
  insert: number;
  update: number;
  delete: number;
}

export function totalOf(counts: OpCounts): number {
  return counts.insert + counts.update + counts.delete;
}

// ---- a checksum of the ids, per kind of change ----------------------------------------------------

export type Op = keyof OpCounts;
export const OPS: readonly Op[] = ['insert', 'update', 'delete'];

/** Per kind of change: how many rows, the sum of their ids and the sum of a 32-bit hash of each id. */
export type IdChecksum = Record<Op, { count: number; sum: number; mix: number }>;

export function emptyChecksum(): IdChecksum {
  return { insert: { count: 0, sum: 0, mix: 0 }, update: { count: 0, sum: 0, mix: 0 }, delete: { count: 0, sum: 0, mix: 0 } };
}

/** murmur3's fmix32: a swapped, lost or doubled id changes `mix` even where it leaves `sum` alone. */
function mix32(id: number): number {
  let h = (id ^ Math.floor(id / 0x1_0000_0000)) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Sums stay exact doubles up to 2^53: ~2M rows of 32-bit hashes, billions of rows of ids below 2^31. */
export function addId(checksum: IdChecksum, op: Op, id: number): void {
  const entry = checksum[op];
  entry.count++;
  entry.sum += id;
  entry.mix += mix32(id);
}

export function subtractChecksum(a: IdChecksum, b: IdChecksum): IdChecksum {
  const out = emptyChecksum();
  for (const op of OPS) out[op] = { count: a[op].count - b[op].count, sum: a[op].sum - b[op].sum, mix: a[op].mix - b[op].mix };
  return out;
}

export function sameChecksum(a: IdChecksum, b: IdChecksum): boolean {
  return OPS.every((op) => a[op].count === b[op].count && a[op].sum === b[op].sum && a[op].mix === b[op].mix);
}

/** One short token for logs and the result file: 'i:count/sum/mix u:... d:...'. */
export function formatChecksum(checksum: IdChecksum): string {
  return OPS.map((op) => `${op[0]}:${checksum[op].count}/${checksum[op].sum}/${checksum[op].mix.toString(16)}`).join(' ');
}

export class WorkloadWriter {
  /** Row changes written so far, by kind (from the server's affected-row counts). */
  readonly counts: OpCounts = { insert: 0, update: 0, delete: 0 };
  /** The ids of those changes, by kind: what a correct copy of the change stream must hold. */
  readonly ids: IdChecksum = emptyChecksum();
  nextId = 1;
  private previousFirstId = 0;
  transactions = 0;

  constructor(private readonly connection: mysql.Connection) {}

  /** One transaction of 1000 row changes, in one round trip. */
  async smallTransaction(): Promise<void> {
    const first = this.transactions === 0;
    const inserts = first ? 1000 : 900;
    const statements = ['BEGIN', insertSql(this.nextId, inserts)];
    if (!first) {
      const a = this.previousFirstId;
      statements.push(`UPDATE ${BENCH_DATABASE}.${BENCH_TABLE} SET ${UPDATE_SET} WHERE id BETWEEN ${a} AND ${a + 79}`);
      statements.push(`DELETE FROM ${BENCH_DATABASE}.${BENCH_TABLE} WHERE id BETWEEN ${a + 80} AND ${a + 99}`);
    }
    statements.push('COMMIT');
    const [results] = await this.connection.query(statements.join(';\n'));
    const affected = (results as { affectedRows: number }[]).map((result) => result.affectedRows);
    if (affected[1] !== inserts) throw new Error(`INSERT affected ${affected[1]} rows, expected ${inserts}`);
    this.counts.insert += inserts;
    for (let id = this.nextId; id < this.nextId + inserts; id++) addId(this.ids, 'insert', id);
    if (!first) {
      if (affected[2] !== 80 || affected[3] !== 20) throw new Error(`UPDATE/DELETE affected ${affected[2]}/${affected[3]} rows, expected 80/20`);
      this.counts.update += 80;
      this.counts.delete += 20;
      for (let id = this.previousFirstId; id < this.previousFirstId + 80; id++) addId(this.ids, 'update', id);
      for (let id = this.previousFirstId + 80; id < this.previousFirstId + 100; id++) addId(this.ids, 'delete', id);
    }
    this.previousFirstId = this.nextId;
    this.nextId += inserts;
    this.transactions++;
  }

  /** One transaction of `rows` inserts, as INSERT statements of `perStatement` rows. Returns its first id. */
  async largeTransaction(rows: number, perStatement = 5000): Promise<number> {
    const firstId = this.nextId;
    await this.connection.query('BEGIN');
    // Build the next statement while the server runs the current one.
    let pending: Promise<unknown> | undefined;
    for (let done = 0; done < rows; done += perStatement) {
      const count = Math.min(perStatement, rows - done);
      const sql = insertSql(this.nextId, count);
      this.nextId += count;
      if (pending) await pending;
      pending = this.connection.query(sql).then(([result]) => {
        const affected = (result as { affectedRows: number }).affectedRows;
        if (affected !== count) throw new Error(`INSERT affected ${affected} rows, expected ${count}`);
      });
    }
    if (pending) await pending;
    await this.connection.query('COMMIT');
    this.counts.insert += rows;
    for (let id = firstId; id < firstId + rows; id++) addId(this.ids, 'insert', id);
    this.transactions++;
    return firstId;
  }
}

// ---- checking committed rows ---------------------------------------------------------------------

/** Compares one committed changelog row (table columns in DDL order) with what the workload wrote. */
export function checkRow(op: string, values: readonly CellValue[]): string | undefined {
  const text = (index: number): string | null => {
    const value = values[index];
    return value === null || value === undefined ? null : Buffer.isBuffer(value) ? value.toString('hex') : value;
  };
  const id = Number(text(0));
  if (!Number.isSafeInteger(id) || id <= 0) return `bad id ${text(0)}`;
  const original = rowFor(id);
  const expected = op === 'update' ? updatedRow(original) : original;
  const payload = values[7];
  const problems: string[] = [];
  if (text(1) !== String(expected.qty)) problems.push(`qty ${text(1)} != ${expected.qty}`);
  if (text(2) !== expected.name) problems.push(`name ${JSON.stringify(text(2))} != ${JSON.stringify(expected.name)}`);
  if (text(3) !== expected.amount) problems.push(`amount ${text(3)} != ${expected.amount}`);
  if (text(4) !== expected.created) problems.push(`created ${text(4)} != ${expected.created}`);
  if (text(5) !== expected.note) problems.push(`note ${JSON.stringify(text(5))} != ${JSON.stringify(expected.note)}`);
  if (Number(text(6)) !== expected.score) problems.push(`score ${text(6)} != ${expected.score}`);
  if (!Buffer.isBuffer(payload) || !payload.equals(expected.payload)) problems.push(`payload ${text(7)} != ${expected.payload.toString('hex')}`);
  return problems.length === 0 ? undefined : `${op} id ${id}: ${problems.join('; ')}`;
}
