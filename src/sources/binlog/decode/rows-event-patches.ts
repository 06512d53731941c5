// Has zongji 0.9 read the row images of rows events with sluice's readers (row-readers.ts) instead of
// its generic per-cell one. The hook replaces _fetchOneRow of its rows event classes
// (lib/rows_event.js, reached by file as table-map-patches.ts reaches lib/binlog_event.js), which
// their constructors call once per row; the readers are chosen at an event's first row.
// An instance that readRowsAsArrays() marked (createZongJi's) gets each image as an array in column
// order; any other keeps zongji's own form, an object keyed by column name.
import { compileRowReader, type RowImageReader, type RowParser, type RowTableMap, type ZongJiReadContext } from './row-readers.ts';

const ARRAYS = Symbol('sluice.rowsAsArrays');

type MarkedZongJi = ZongJiReadContext & { [ARRAYS]?: true };

interface RowsEventLike {
  tableId: number;
  tableMap: Record<number, RowTableMap>;
  columns_present_bitmap: Buffer;
  columns_present_bitmap2?: Buffer;
  _zongji: MarkedZongJi;
  _rowReaders?: [RowImageReader, RowImageReader | undefined];
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

function byName(event: RowsEventLike, image: unknown[]): Record<string, unknown> {
  const columns = event.tableMap[event.tableId]!.columns;
  const row: Record<string, unknown> = {};
  for (let index = 0; index < columns.length; index++) row[columns[index]!.name] = image[index];
  return row;
}

function readersOf(event: RowsEventLike): [RowImageReader, RowImageReader | undefined] {
  if (event._rowReaders) return event._rowReaders;
  const tableMap = event.tableMap[event.tableId]!;
  const before = compileRowReader(tableMap, event.columns_present_bitmap, event._zongji, readMysqlValue);
  const after = event.columns_present_bitmap2 ? compileRowReader(tableMap, event.columns_present_bitmap2, event._zongji, readMysqlValue) : undefined;
  event._rowReaders = [before, after];
  return event._rowReaders;
}

function readImage(event: RowsEventLike, reader: RowImageReader, parser: RowParser): unknown {
  const image = reader.read(parser);
  return event._zongji[ARRAYS] ? image : byName(event, image);
}

// WriteRows and DeleteRows read with RowsEvent's method, UpdateRows with its own (two images a row).
Object.getPrototypeOf(WriteRows.prototype)._fetchOneRow = function (this: RowsEventLike, parser: RowParser): unknown {
  return readImage(this, readersOf(this)[0], parser);
};
UpdateRows.prototype._fetchOneRow = function (this: RowsEventLike, parser: RowParser): unknown {
  const [before, after] = readersOf(this);
  return { before: readImage(this, before, parser), after: readImage(this, after!, parser) };
};
