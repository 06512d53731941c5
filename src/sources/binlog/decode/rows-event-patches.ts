// Has zongji 0.9 read the row images of rows events with sluice's readers (row-readers.ts) instead of
// its generic per-cell one. The hook replaces _fetchOneRow of its rows event classes
// (lib/rows_event.js, reached by file as table-map-patches.ts reaches lib/binlog_event.js), which
// their constructors call in a loop until the event's end; the readers are chosen at an event's first
// row, which reads every row of the event in one loop (see readRows).
// An instance that readRowsAsArrays() marked (createZongJi's) gets each image as an array in column
// order; any other keeps zongji's own form, an object keyed by column name. An instance given the
// columns of its changes (decodeCellsWith) also gets, where a column's reader can give it, the cell
// itself in its image, and rowCellDecoders() says which columns still need their decoder.
import type { SourceColumn } from '../../../core/change-event.ts';
import { cellDecodersOf, type CellDecoder } from './cell-decoder.ts';
import { compileRowReader, readEnd, undecodableCells, UndecodableCell, type RowImageReader, type RowParser, type RowTableMap, type ZongJiReadContext } from './row-readers.ts';

const ARRAYS = Symbol('sluice.rowsAsArrays');
const CELL_COLUMNS = Symbol('sluice.cellColumns');

/** The columns of the changes a table's rows become, or undefined where they cannot be known (then no cell is read ahead). */
export type CellColumnsOf = (tableMap: RowTableMap) => readonly SourceColumn[] | undefined;

type MarkedZongJi = ZongJiReadContext & { [ARRAYS]?: true; [CELL_COLUMNS]?: CellColumnsOf };

/** What the readers of one event read the cells for. */
interface EventCells {
  columns: readonly SourceColumn[];
  /** Per column: its decoder, or null where the image holds the cell. */
  decoders: readonly (CellDecoder | null)[];
  /** Some image of the event holds an UndecodableCell. */
  undecodable: boolean;
}

interface RowsEventLike {
  tableId: number;
  tableMap: Record<number, RowTableMap>;
  columns_present_bitmap: Buffer;
  columns_present_bitmap2?: Buffer;
  rows: unknown[];
  _zongji: MarkedZongJi;
  _sluiceCells?: EventCells;
}

interface RowsEventClass {
  prototype: { _fetchOneRow(this: RowsEventLike, parser: RowParser): unknown };
}

const zongjiUrl = import.meta.resolve('@vlasky/zongji');
const { WriteRows, UpdateRows } = (await import(new URL('./lib/rows_event.js', zongjiUrl).href)) as { WriteRows: RowsEventClass; UpdateRows: RowsEventClass };
const { readMysqlValue } = (await import(new URL('./lib/common.js', zongjiUrl).href)) as { readMysqlValue: Parameters<typeof compileRowReader>[3] };

/** Has this zongji instance hand each row image over as an array in the TableMap's column order. */
export function readRowsAsArrays(zongji: object): void {
  (zongji as MarkedZongJi)[ARRAYS] = true;
}

/** Has this (readRowsAsArrays) instance read cells ahead for the changes of the given columns. */
export function decodeCellsWith(zongji: object, columnsOf: CellColumnsOf): void {
  (zongji as MarkedZongJi)[CELL_COLUMNS] = columnsOf;
}

/**
 * The decoders the images of a rows event still need, aligned with `columns` (null where an image
 * holds the cell), or undefined when its readers read no cell ahead (then every column needs its
 * decoder). `columns` must be those the event was read for.
 */
export function rowCellDecoders(event: object, columns: readonly SourceColumn[]): readonly (CellDecoder | null)[] | undefined {
  const cells = (event as RowsEventLike)._sluiceCells;
  if (!cells) return undefined;
  // Both come from the same TableMap in the same tick; anything else would decode cells twice.
  if (cells.columns !== columns) throw new Error('internal: a rows event was read for other columns than it is decoded for');
  if (!cells.undecodable) return cells.decoders;
  // A cell a reader could not give is handed to its decoder, which raises the error it raises.
  const all = cellDecodersOf(columns);
  return cells.decoders.map((decoder, index) => decoder ?? ((value: unknown) => (value instanceof UndecodableCell ? all[index]!(value.raw) : (value as ReturnType<CellDecoder>))));
}

function byName(event: RowsEventLike, image: unknown[]): Record<string, unknown> {
  const columns = event.tableMap[event.tableId]!.columns;
  const row: Record<string, unknown> = {};
  for (let index = 0; index < columns.length; index++) row[columns[index]!.name] = image[index];
  return row;
}

/** The event's readers (before and after image), with the cells they read ahead noted on the event. */
function readersOf(event: RowsEventLike): [RowImageReader, RowImageReader | undefined] {
  const tableMap = event.tableMap[event.tableId]!;
  const zongji = event._zongji;
  const columns = zongji[ARRAYS] ? zongji[CELL_COLUMNS]?.(tableMap) : undefined;
  const before = compileRowReader(tableMap, event.columns_present_bitmap, zongji, readMysqlValue, columns);
  const after = event.columns_present_bitmap2 ? compileRowReader(tableMap, event.columns_present_bitmap2, zongji, readMysqlValue, columns) : undefined;
  if (columns && before.cells.includes(true)) {
    // A column's reader gives its cell whatever the bitmap: both images alike.
    const all = cellDecodersOf(columns);
    event._sluiceCells = { columns, decoders: all.map((decoder, index) => (before.cells[index] ? null : decoder)), undecodable: false };
  }
  return [before, after];
}

/**
 * Reads every row of the event from `parser`'s position to its end, pushing all but the last onto
 * event.rows and returning the last, which zongji's constructor pushes: its loop then finds the end
 * reached. One loop for the event instead of a call through the constructor's loop per row, and the
 * readers chosen once.
 */
function readRows(event: RowsEventLike, parser: RowParser, pairs: boolean): unknown {
  const [before, after] = readersOf(event);
  const arrays = event._zongji[ARRAYS] === true;
  const undecodableBefore = undecodableCells();
  const buffer = parser._buffer;
  const end = parser._packetEnd;
  const rows = event.rows;
  let offset = parser._offset;
  let row: unknown;
  for (;;) {
    const image = before.readAt(buffer, offset, parser);
    offset = readEnd();
    if (pairs) {
      const afterImage = after!.readAt(buffer, offset, parser);
      offset = readEnd();
      row = arrays ? { before: image, after: afterImage } : { before: byName(event, image), after: byName(event, afterImage) };
    } else {
      row = arrays ? image : byName(event, image);
    }
    if (offset >= end) break;
    rows.push(row);
  }
  parser._offset = offset;
  if (event._sluiceCells && undecodableCells() !== undecodableBefore) event._sluiceCells.undecodable = true;
  return row;
}

// WriteRows and DeleteRows read with RowsEvent's method, UpdateRows with its own (two images a row).
Object.getPrototypeOf(WriteRows.prototype)._fetchOneRow = function (this: RowsEventLike, parser: RowParser): unknown {
  return readRows(this, parser, false);
};
UpdateRows.prototype._fetchOneRow = function (this: RowsEventLike, parser: RowParser): unknown {
  return readRows(this, parser, true);
};
