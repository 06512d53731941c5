// Debezium's signal table (`snapshot.signalTable`, docs/snapshot.md): a row inserted into a source
// table with the columns id, type and data, seen in the binlog, asks for something. sluice takes the
// `execute-snapshot` signal, `{"data-collections": ["db.table", ...]}`, as `sluice snapshot` for
// each table named: read again while the stream goes on. The request needs no file of its own: the
// merge takes it at the signal's place in the stream, so the record at the signal's boundary holds
// it (a truncate marker due), and a restart from an earlier record meets the signal again.
import type { CellValue, ChangeEvent } from '../../core/change-event.ts';

export const EXECUTE_SNAPSHOT = 'execute-snapshot';

export type SignalOutcome =
  | { kind: 'snapshot'; id: string; tables: string[] }
  /** Skipped with its reason: a signal never stops the stream. */
  | { kind: 'invalid'; id: string; reason: string };

/** The signal an INSERT into the signal table carries; `isCaptured` says whether a source 'db.table' is captured. */
export function readSignal(event: ChangeEvent, isCaptured: (table: string) => boolean): SignalOutcome {
  const cells = new Map(event.columns.map((column, index) => [column.name.toLowerCase(), text(event.after?.[index])]));
  const id = cells.get('id') ?? '(no id)';
  const invalid = (reason: string): SignalOutcome => ({ kind: 'invalid', id, reason });
  const missing = ['id', 'type', 'data'].filter((column) => !cells.has(column));
  if (missing.length > 0) return invalid(`the signal table has no column ${missing.join(', ')} (Debezium's signal table has id, type and data)`);
  const type = cells.get('type');
  if (type !== EXECUTE_SNAPSHOT) return invalid(`type ${JSON.stringify(type ?? null)} is not one sluice takes (only '${EXECUTE_SNAPSHOT}')`);
  let data: unknown;
  try {
    data = JSON.parse(cells.get('data') ?? '');
  } catch {
    return invalid(`data is not JSON: ${JSON.stringify((cells.get('data') ?? null)?.slice(0, 200) ?? null)}`);
  }
  if (typeof data !== 'object' || data === null) return invalid('data is not a JSON object');
  const fields = data as Record<string, unknown>;
  const snapshotType = fields.type;
  // Debezium's default; a blocking snapshot (the stream stops meanwhile) is not built.
  if (snapshotType !== undefined && String(snapshotType).toLowerCase() !== 'incremental') return invalid(`data.type ${JSON.stringify(snapshotType)}: only an incremental snapshot is taken`);
  if (fields['additional-conditions'] !== undefined) return invalid('data.additional-conditions: a snapshot of part of a table is not built; the whole table is read');
  const tables = fields['data-collections'];
  if (!Array.isArray(tables) || tables.length === 0 || !tables.every((table) => typeof table === 'string')) {
    return invalid(`data.data-collections is not a list of tables as 'db.table': ${JSON.stringify(tables ?? null)}`);
  }
  const uncaptured = tables.filter((table) => !/^[^.]+\.[^.]+$/.test(table) || !isCaptured(table));
  if (uncaptured.length > 0) return invalid(`${uncaptured.join(', ')}: not a source table the routing captures, as 'db.table'`);
  return { kind: 'snapshot', id, tables: [...new Set(tables)] };
}

function text(value: CellValue | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  return Buffer.isBuffer(value) ? value.toString('utf8') : value;
}
