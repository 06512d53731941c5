// Every fix sluice makes to zongji 0.9's reading of a TableMap, in one place: those made while zongji
// parses the event (below), and those made to the parsed event before its rows are read
// (patchTableMap: the server's collations, geometry and 8-bit text read as bytes).
//
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
import { SluiceError } from '../../../core/errors.ts';
import {
  MYSQL_TYPE_BLOB,
  MYSQL_TYPE_BLOB_COMPRESSED,
  MYSQL_TYPE_ENUM,
  MYSQL_TYPE_GEOMETRY,
  MYSQL_TYPE_JSON,
  MYSQL_TYPE_LONG_BLOB,
  MYSQL_TYPE_MEDIUM_BLOB,
  MYSQL_TYPE_SET,
  MYSQL_TYPE_STRING,
  MYSQL_TYPE_TINY_BLOB,
  MYSQL_TYPE_VARCHAR,
  MYSQL_TYPE_VARCHAR_COMPRESSED,
  MYSQL_TYPE_VECTOR,
} from './binlog-type-codes.ts';
import { applyServerCollations, type CollationCharsets } from './collations.ts';
import { decodeSingleByte, isSingleByteCharset } from './single-byte-charsets.ts';

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

/** A parsed TableMap event, as far as the fixes below read it. */
export interface ParsedTableMap {
  tableId?: number;
  tableMap?: Record<number, unknown>;
  schemaName?: string;
  tableName?: string;
  _columnCharsetIds?: (number | undefined)[];
  _enumSetValues?: (Buffer[] | undefined)[];
}

/**
 * Runs on every TableMap event, before the rows that use it are parsed. Returns why the table cannot
 * be read (a column type zongji does not know, a collation sluice cannot map), for the caller to stop
 * the table; the event is fixed as far as it can be either way.
 */
export function patchTableMap(event: ParsedTableMap, collations: CollationCharsets): SluiceError | undefined {
  // zongji reads collation ids it does not know (most of MariaDB's own) as utf8mb4.
  const problem = unreadableTableMap(event) ?? applyServerCollations(event, collations);
  readGeometryAsBytes(event);
  readSingleByteTextAsBytes(event);
  return problem;
}

/** A column as zongji reads it from the row image (lib/binlog_event.js updateColumnInfo). */
interface ZongJiColumn {
  type: number;
  charset: string | null;
  metadata?: Record<string, unknown>;
}

/**
 * zongji 0.9 parses a geometry value into bare coordinates and drops its WKB type (a LINESTRING and
 * a MULTIPOINT come out alike), so a GEOMETRY or GEOMETRYCOLLECTION column could not be written
 * back exactly. In the row image a geometry is a length-prefixed blob (4-byte SRID, then the WKB),
 * laid out as a BLOB is; read as a BLOB without a charset, zongji hands over those bytes and
 * toCellValue keeps the WKB. Runs on every TableMap event, before the rows that use it are parsed.
 */
function readGeometryAsBytes(event: ParsedTableMap): void {
  const tableMap = event.tableMap?.[event.tableId ?? -1] as { columns?: ZongJiColumn[] } | undefined;
  for (const column of tableMap?.columns ?? []) {
    if (column.type !== MYSQL_TYPE_GEOMETRY) continue;
    column.type = MYSQL_TYPE_BLOB;
    column.charset = null;
  }
}

/**
 * zongji decodes text in MySQL's 8-bit charsets with iconv-lite, whose tables are not MySQL's (see
 * single-byte-charsets.ts): latin1's 0x81, 0x8D, 0x8F, 0x90 and 0x9D become U+FFFD, a few bytes of
 * other charsets become other characters. Read as a BLOB without a charset, a CHAR, VARCHAR or TEXT
 * column comes over as its bytes, and toCellValue decodes them by MySQL's own table. The row image
 * lays out a CHAR or VARCHAR value as a BLOB with a 1-byte length when the column holds at most 255
 * bytes, else a 2-byte one. Under FULL metadata the ENUM and SET members come in the TableMap as bytes,
 * which zongji has decoded by iconv-lite too: they are decoded again here.
 *
 * Runs on every TableMap event, after applyServerCollations (so that a column in a collation zongji
 * does not know, such as latin1_nopad_bin, has its real charset here) and before the rows that use it
 * are parsed; zongji keeps the columns of
 * a table it looked up in information_schema from one TableMap to the next, so a column it has
 * already rewritten must stay as it is.
 */
export function readSingleByteTextAsBytes(event: { tableId?: number; tableMap?: Record<number, unknown>; _enumSetValues?: (Buffer[] | undefined)[] }): void {
  const tableMap = event.tableMap?.[event.tableId ?? -1] as { columns?: ZongJiColumn[]; columnSchemas?: { COLUMN_TYPE: string; ENUM_VALUES?: string[]; SET_VALUES?: string[] }[] } | undefined;
  tableMap?.columns?.forEach((column, index) => {
    if (column.charset === null || !isSingleByteCharset(column.charset)) return;
    switch (column.type) {
      case MYSQL_TYPE_VARCHAR:
      case MYSQL_TYPE_STRING:
      case MYSQL_TYPE_VARCHAR_COMPRESSED: {
        const maxLength = Number(column.metadata?.max_length);
        column.type = column.type === MYSQL_TYPE_VARCHAR_COMPRESSED ? MYSQL_TYPE_BLOB_COMPRESSED : MYSQL_TYPE_BLOB;
        column.metadata = { length_size: maxLength > 255 ? 2 : 1 };
        column.charset = null;
        return;
      }
      case MYSQL_TYPE_TINY_BLOB:
      case MYSQL_TYPE_BLOB:
      case MYSQL_TYPE_MEDIUM_BLOB:
      case MYSQL_TYPE_LONG_BLOB:
      case MYSQL_TYPE_BLOB_COMPRESSED:
        column.charset = null;
        return;
      case MYSQL_TYPE_ENUM:
      case MYSQL_TYPE_SET: {
        const members = event._enumSetValues?.[index];
        const schema = tableMap.columnSchemas?.[index];
        if (!members || !schema) return;
        const names = members.map((bytes) => decodeSingleByte(bytes, column.charset!)!);
        const keyword = column.type === MYSQL_TYPE_ENUM ? 'enum' : 'set';
        // zongji's spelling of the type, around the members as MySQL reads them.
        schema.COLUMN_TYPE = `${keyword}(${names.map((name) => `'${name.replace(/'/g, "''")}'`).join(',')})`;
        if (keyword === 'enum') schema.ENUM_VALUES = names;
        else schema.SET_VALUES = names;
        return;
      }
    }
  });
}
