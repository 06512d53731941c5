// Has zongji 0.9 read the row images of rows events with sluice's readers (row-readers.ts) instead of
// its generic per-cell one. The hook replaces _fetchOneRow of its rows event classes
// (lib/rows_event.js, reached by file as table-map-patches.ts reaches lib/binlog_event.js), which
// their constructors call once per row; the readers are chosen at an event's first row.
import { compileRowReader, type RowImageReader, type RowParser, type RowTableMap, type ZongJiReadContext } from './row-readers.ts';

interface RowsEventLike {
  tableId: number;
  tableMap: Record<number, RowTableMap>;
  columns_present_bitmap: Buffer;
  columns_present_bitmap2?: Buffer;
  _zongji: ZongJiReadContext;
  _rowReaders?: [RowImageReader, RowImageReader | undefined];
}

interface RowsEventClass {
  prototype: { _fetchOneRow(this: RowsEventLike, parser: RowParser): unknown };
}

const zongjiUrl = import.meta.resolve('@vlasky/zongji');
const { WriteRows, UpdateRows } = (await import(new URL('./lib/rows_event.js', zongjiUrl).href)) as { WriteRows: RowsEventClass; UpdateRows: RowsEventClass };
const { readMysqlValue } = (await import(new URL('./lib/common.js', zongjiUrl).href)) as { readMysqlValue: Parameters<typeof compileRowReader>[3] };

function readersOf(event: RowsEventLike): [RowImageReader, RowImageReader | undefined] {
  if (event._rowReaders) return event._rowReaders;
  const tableMap = event.tableMap[event.tableId]!;
  const before = compileRowReader(tableMap, event.columns_present_bitmap, event._zongji, readMysqlValue);
  const after = event.columns_present_bitmap2 ? compileRowReader(tableMap, event.columns_present_bitmap2, event._zongji, readMysqlValue) : undefined;
  event._rowReaders = [before, after];
  return event._rowReaders;
}

// WriteRows and DeleteRows read with RowsEvent's method, UpdateRows with its own (two images a row).
Object.getPrototypeOf(WriteRows.prototype)._fetchOneRow = function (this: RowsEventLike, parser: RowParser): unknown {
  return readersOf(this)[0].read(parser);
};
UpdateRows.prototype._fetchOneRow = function (this: RowsEventLike, parser: RowParser): unknown {
  const [before, after] = readersOf(this);
  return { before: before.read(parser), after: after!.read(parser) };
};
