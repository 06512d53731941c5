// A row's key as one string, from its values as sluice carries them, so that a chunk's rows and the
// stream's changes of the same table can be matched by key equality: the exact text of each key
// value, or its bytes for a binary column. Only equality is needed, never order.
import type { CellValue, SourceColumn } from '../../core/change-event.ts';
import { SluiceError } from '../../core/errors.ts';
import type { TableKey } from '../table/table-key.ts';

/** Where each key column sits among `columns`. */
export function keyPositions(columns: readonly Pick<SourceColumn, 'name'>[], key: TableKey): number[] {
  return key.columns.map((column) => {
    const index = columns.findIndex((candidate) => candidate.name.toLowerCase() === column.name.toLowerCase());
    if (index < 0) throw new SluiceError('SLUICE_SNAPSHOT', `key column ${column.name} is not among the table's columns (${columns.map((c) => c.name).join(', ')})`);
    return index;
  });
}

export function rowKey(values: readonly CellValue[], positions: readonly number[]): string {
  return JSON.stringify(positions.map((index) => {
    const value = values[index] ?? null;
    return Buffer.isBuffer(value) ? { hex: value.toString('hex') } : value;
  }));
}
