// Row-by-row comparison of a large copy in bounded memory: the source's rows (ids 1..N, dense) are
// digested into a typed array by id; each target row is digested the same way and must match its
// id's digest, once. 64 bits of SHA-1 per row: a changed value goes unnoticed with odds of 2^-64.
import { createHash } from 'node:crypto';
import type { CellValue } from '../../src/core/change-event.ts';

export function digestRow(row: readonly CellValue[]): bigint {
  const hash = createHash('sha1');
  for (const value of row) {
    // A type tag and a length before each value: NULL, '' and 0x differ, and no two rows run together.
    if (value === null) hash.update('n');
    else if (typeof value === 'string') hash.update(`s${Buffer.byteLength(value)}:`).update(value);
    else hash.update(`b${value.length}:`).update(value);
  }
  return hash.digest().readBigUInt64BE(0);
}

export class RowLedger {
  private readonly expected: BigUint64Array;
  private readonly seen: Uint8Array;
  private problems: string[] = [];

  constructor(readonly rows: number) {
    this.expected = new BigUint64Array(rows + 1);
    this.seen = new Uint8Array(rows + 1);
  }

  expect(id: number, row: readonly CellValue[]): void {
    this.expected[id] = digestRow(row);
  }

  /** Forgets what was found, keeping what is expected: for checking the next target against the same source. */
  reset(): void {
    this.seen.fill(0);
    this.problems = [];
  }

  /** A row found in the target. */
  found(row: readonly CellValue[]): void {
    const id = Number(row[0]);
    if (!(id >= 1 && id <= this.rows)) return this.problem(`id ${String(row[0])} is in the target but not in the source`);
    if (this.seen[id]! > 0) this.problem(`id ${id} is in the target twice`);
    this.seen[id] = Math.min(255, this.seen[id]! + 1);
    if (digestRow(row) !== this.expected[id]) this.problem(`id ${id}: the target's values differ from the source's`);
  }

  /** Undefined when the target holds every source row exactly once, with equal values. */
  verdict(): string | undefined {
    let missing = 0;
    let firstMissing = 0;
    for (let id = 1; id <= this.rows; id++) {
      if (this.seen[id] === 0) {
        if (missing === 0) firstMissing = id;
        missing++;
      }
    }
    if (missing > 0) this.problem(`${missing} source rows are missing from the target, e.g. id ${firstMissing}`);
    return this.problems.length === 0 ? undefined : this.problems.slice(0, 5).join('; ') + (this.problems.length > 5 ? ` (and ${this.problems.length - 5} more)` : '');
  }

  private problem(text: string): void {
    if (this.problems.length < 100) this.problems.push(text);
  }
}
