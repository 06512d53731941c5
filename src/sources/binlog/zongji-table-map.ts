// Fixes to zongji 0.9's TableMap parsing that cannot be made once the event is built, since a column
// whose metadata zongji misreads shifts every later column's metadata and the optional metadata after
// it. The hooks wrap three methods of zongji's TableMap class (lib/binlog_event.js, reached by file:
// the package exports only its entry point; same URL, so the same class zongji builds its events from).
//
// MySQL 9's VECTOR (type 242): zongji does not know it, reads none of its one metadata byte, and later
// fails each row with 'Unsupported type "242"'. MySQL 9.7 lays a VECTOR out as a BLOB in the TableMap
// (one metadata byte: its length size, 4), counts it in the charset list as binary (collation 63; seen
// with mysqlbinlog --hexdump), and in the row image as a BLOB; its dimension comes in optional metadata
// field 13 (VECTOR_DIMENSIONALITY), one packed integer per VECTOR column, which zongji skips. So the
// column is read as a BLOB (its value arrives as the bytes, n little-endian float32s, as MySQL stores
// them) and its type text is rebuilt as vector(n).
//
// MySQL's binary JSON (type 245): zongji's decoder does not print it as MySQL does (see mysql-json.ts),
// so once the TableMap is read (JSON is not in the charset list, so not before) the column is read as a
// BLOB without a charset: its value arrives as the binary document, which toCellValue decodes.
//
// A type code zongji does not know at all: its metadata length is not known either, so nothing of the
// TableMap after it can be read. The event keeps its table name and its column types, gets numbered
// column names (so zongji builds no information_schema lookup for it), and unreadableTableMap()
// stops the table with a coded error instead of letting zongji fail its rows on the stream for ever.
import { SluiceError } from '../../errors.ts';
import { MYSQL_TYPE_BLOB, MYSQL_TYPE_JSON, MYSQL_TYPE_VECTOR } from './binlog-type-codes.ts';

/** The type codes zongji 0.9 reads the TableMap metadata and row values of (include/mysql_com.h, MariaDB's compressed ones). */
const ZONGJI_TYPE_CODES = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 140, 141, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255]);

/** Optional metadata field of MySQL 9 (libs/mysql/binlog/event/rows_event.h): the dimension of each VECTOR column. */
const VECTOR_DIMENSIONALITY = 13;

interface Parser {
  _offset: number;
  _packetEnd: number;
  parseUnsignedNumber(bytes: number): number;
  parseLengthCodedNumber(): number;
  parseBuffer(length: number): Buffer;
}

interface PatchedTableMap {
  tableId: number;
  schemaName: string;
  tableName: string;
  columnCount: number;
  columnTypes: number[];
  columnsMetadata: unknown[];
  columnNames?: string[];
  tableMap: Record<number, unknown>;
  /** Columns of a type zongji does not know: the event's metadata was not read. */
  _unknownColumnTypes?: { index: number; code: number }[];
  /** VECTOR columns (read as BLOBs) and their dimensions, when the server sent them. */
  _vectorColumns?: number[];
  _vectorDimensions?: (number | undefined)[];
}

interface TableMapClass {
  prototype: {
    _readColumnMetadata(this: PatchedTableMap, parser: Parser): void;
    _readOptionalMetadata(this: PatchedTableMap, parser: Parser, zongji: { useChecksum?: boolean }): void;
    buildColumnSchemas(this: PatchedTableMap): { COLUMN_TYPE: string; CHARACTER_SET_NAME: string | null }[];
    updateColumnInfo(this: PatchedTableMap): void;
  };
}

const binlogEventModule = new URL('./lib/binlog_event.js', import.meta.resolve('@vlasky/zongji')).href;
const { TableMap } = (await import(binlogEventModule)) as { TableMap: TableMapClass };
const methods = TableMap.prototype;

const readColumnMetadata = methods._readColumnMetadata;
methods._readColumnMetadata = function (parser) {
  const unknown = this.columnTypes.flatMap((code, index) => (ZONGJI_TYPE_CODES.has(code) || code === MYSQL_TYPE_VECTOR ? [] : [{ index, code }]));
  if (unknown.length > 0) {
    this._unknownColumnTypes = unknown;
    this.columnsMetadata = [];
    this.columnNames = this.columnTypes.map((_, index) => `@${index + 1}`);
    parser._offset = parser._packetEnd;
    return;
  }
  const vectors = this.columnTypes.flatMap((code, index) => (code === MYSQL_TYPE_VECTOR ? [index] : []));
  for (const index of vectors) this.columnTypes[index] = MYSQL_TYPE_BLOB;
  if (vectors.length > 0) this._vectorColumns = vectors;
  readColumnMetadata.call(this, parser);
};

const readOptionalMetadata = methods._readOptionalMetadata;
methods._readOptionalMetadata = function (parser, zongji) {
  if (this._unknownColumnTypes) return;
  const start = parser._offset;
  readOptionalMetadata.call(this, parser, zongji);
  const vectors = this._vectorColumns;
  if (!vectors) return;
  // zongji skips the fields it does not know: read the block again for the dimensions.
  const end = parser._packetEnd - (zongji?.useChecksum ? 4 : 0);
  const after = parser._offset;
  try {
    parser._offset = start + Math.floor((this.columnCount + 7) / 8);
    while (parser._offset < end) {
      const type = parser.parseUnsignedNumber(1);
      const fieldEnd = parser.parseLengthCodedNumber() + parser._offset;
      if (type === VECTOR_DIMENSIONALITY) {
        const dimensions: (number | undefined)[] = new Array(this.columnCount);
        for (const index of vectors) if (parser._offset < fieldEnd) dimensions[index] = parser.parseLengthCodedNumber();
        this._vectorDimensions = dimensions;
      }
      parser._offset = fieldEnd;
    }
  } finally {
    parser._offset = after;
  }
};

const buildColumnSchemas = methods.buildColumnSchemas;
methods.buildColumnSchemas = function () {
  const schemas = buildColumnSchemas.call(this);
  for (const index of this._vectorColumns ?? []) {
    const dimension = this._vectorDimensions?.[index];
    schemas[index]!.COLUMN_TYPE = dimension === undefined ? 'vector' : `vector(${dimension})`;
    schemas[index]!.CHARACTER_SET_NAME = null;
  }
  return schemas;
};

const updateColumnInfo = methods.updateColumnInfo;
methods.updateColumnInfo = function () {
  updateColumnInfo.call(this);
  const columns = (this.tableMap[this.tableId] as { columns?: { type: number; charset: string | null }[] } | undefined)?.columns;
  for (const column of columns ?? []) {
    if (column.type !== MYSQL_TYPE_JSON) continue;
    column.type = MYSQL_TYPE_BLOB;
    column.charset = null;
  }
};

/**
 * For a TableMap with a column of a type zongji cannot read: the error that stops the table (naming
 * the column and the type), after dropping zongji's entry for the table id so that zongji skips its
 * rows instead of failing the stream on them. Undefined for any other TableMap.
 */
export function unreadableTableMap(event: { tableId?: number; tableMap?: Record<number, unknown>; schemaName?: string; tableName?: string }): SluiceError | undefined {
  const unknown = (event as Partial<PatchedTableMap>)._unknownColumnTypes;
  if (!unknown) return undefined;
  delete event.tableMap?.[event.tableId ?? -1];
  const table = `${event.schemaName}.${event.tableName}`;
  const columns = unknown.map(({ index, code }) => `column ${index + 1} has binlog type ${code}`).join(', ');
  return new SluiceError(
    'SLUICE_SCHEMA_UNSUPPORTED',
    `table ${table}: ${columns}, a type this version of sluice cannot read from the binlog (its TableMap cannot be read past it), ` +
      'so none of the table\'s rows can be decoded. Exclude the table (routing.exclude), or change the column to a type sluice reads; ' +
      'the table is retried from where it stopped at the next start.',
    { context: { table, columnNumber: unknown[0]!.index + 1, binlogType: unknown[0]!.code } },
  );
}
