// An UPDATE that changes a row's primary key moves the row: the old key is gone at the source. The
// current-state rule (current-state-sql.ts, catalog/hive-current-view.ts) ranks the rows of each key
// on its own, so a changelog that held only the update (with the new key) would leave the old key's
// last row, an insert, standing in every reader: the view, the materialized snapshot, `sluice query
// --current`. The sink therefore writes such an update as two rows with the event's one `_seq`: a
// `delete` of the old key (the before image, as every delete carries) and the `update` of the new
// key, as Debezium emits a delete and a create for a key change. One `_seq` does for both: the rule
// orders rows of one key only, and the two rows are of different keys; sequence numbers stay one per
// event, as every source hands them out and a replay after a crash repeats them.
import type { CellValue, ChangeEvent, SourceColumn } from '../core/change-event.ts';

/**
 * The indexes in `columns` of the recorded primary key's columns, or none when a key column is not
 * among them (the key then cannot be compared, and no update is taken for a move).
 */
export function keyIndexes(columns: readonly SourceColumn[], primaryKey: readonly string[] | undefined): readonly number[] {
  if (!primaryKey || primaryKey.length === 0) return [];
  const indexes = primaryKey.map((name) => columns.findIndex((column) => column.name.toLowerCase() === name));
  return indexes.some((index) => index < 0) ? [] : indexes;
}

/**
 * Whether an update moved its row to another key: some key column differs, byte for byte, between
 * the images (a case-only change under a case-insensitive collation is the same key to the server but
 * another one to Hive's and DuckDB's comparisons, so it is a move for the readers too). An update
 * without a before image, or whose before image lacks a key value (a primary key column is never NULL
 * at the source: such an image holds only some columns), cannot be told apart and is no move.
 */
export function movesKey(event: ChangeEvent, key: readonly number[]): boolean {
  const { before, after } = event;
  if (event.op !== 'update' || before === null || after === null) return false;
  let moved = false;
  for (const index of key) {
    const old = before[index] ?? null;
    if (old === null) return false;
    moved ||= !sameCell(old, after[index] ?? null);
  }
  return moved;
}

function sameCell(x: CellValue, y: CellValue): boolean {
  if (x === null || y === null) return x === y;
  if (typeof x === 'string' || typeof y === 'string') return x === y;
  return x.equals(y);
}

/** The two rows a key move is written as: the old key's delete, then the new key's update. */
export function splitKeyMove(event: ChangeEvent): [ChangeEvent, ChangeEvent] {
  return [
    { ...event, op: 'delete', after: null },
    { ...event, before: null },
  ];
}
