// A rows event's images as a change's cells. zongji (with decode/row-readers.ts) hands each image
// over as an array in the TableMap's column order; the columns' decoders are chosen once per column
// list (a TableMap's), and the array is turned into the cells in place: the per-row loop neither
// dispatches on a column's type nor allocates a second array.
import type { CellValue, SourceColumn } from '../../../core/change-event.ts';
import { cellDecodersOf, type CellDecoder } from '../decode/cell-decoder.ts';
import { rowCellDecoders } from '../decode/rows-event-patches.ts';

/**
 * The decoders of a rows event's images, aligned with its columns: null for a column whose reader
 * already gave the cell itself (row-readers.ts), so that the per-row loop skips it.
 */
export function cellDecoders(event: object, columns: readonly SourceColumn[]): readonly (CellDecoder | null)[] {
  return rowCellDecoders(event, columns) ?? cellDecodersOf(columns);
}

/**
 * The cells of one image, aligned with the columns the decoders were built for. `image` is zongji's
 * array, taken over: a column it lacks (the table has more columns than the event) decodes from
 * undefined, as a value zongji could not read. Throws what toCellValue throws.
 */
export function imageCells(image: unknown, decoders: readonly (CellDecoder | null)[]): CellValue[] {
  const values = image as unknown[];
  for (let index = 0; index < decoders.length; index++) {
    const decoder = decoders[index]!;
    if (decoder === null) continue;
    const raw = values[index];
    values[index] = raw === null ? null : decoder(raw);
  }
  // A column of the event the column list does not have is not part of the change.
  if (values.length > decoders.length) values.length = decoders.length;
  return values as CellValue[];
}
