// What zongji 0.9 hands over for one column of a row image, turned into a CellValue: exact text for
// numbers, temporals and text, bytes for binary types. zongji must run with
// {dateStrings: true, timezone: 'Z', supportBigNumbers: true, bigNumberStrings: true, jsonStrings: true};
// with those options, and with applyServerCollations (collations.ts, which gives each column the
// charset of its collation id by the server's own list) and readSingleByteTextAsBytes (table-map-patches.ts)
// applied to every TableMap,
// every value arrives exact except the few repaired below (each one measured on MariaDB 10.11, see
// test/cell-decoder.test.ts).
import type { CellValue, SourceColumn } from '../../../core/change-event.ts';
import { parseMysqlType, SPATIAL_TYPES } from '../../../catalog/type-mapping.ts';
import { SluiceError } from '../../../core/errors.ts';
import { decodeSingleByte, isSingleByteCharset } from './single-byte-charsets.ts';
import { mysqlJsonToText } from './mysql-json.ts';

type Family =
  | 'integer'
  | 'decimal'
  | 'float'
  | 'double'
  | 'bit'
  | 'year'
  | 'temporal'
  | 'text'
  | 'enum'
  | 'binary'
  | 'uuid'
  | 'inet4'
  | 'inet6'
  | 'geometry';

const FAMILIES: Record<string, Family> = {
  tinyint: 'integer',
  smallint: 'integer',
  mediumint: 'integer',
  int: 'integer',
  integer: 'integer',
  bigint: 'integer',
  serial: 'integer',
  bool: 'integer',
  boolean: 'integer',
  decimal: 'decimal',
  numeric: 'decimal',
  dec: 'decimal',
  fixed: 'decimal',
  float: 'float',
  float4: 'float',
  double: 'double',
  real: 'double',
  'double precision': 'double',
  float8: 'double',
  bit: 'bit',
  year: 'year',
  date: 'temporal',
  datetime: 'temporal',
  timestamp: 'temporal',
  time: 'temporal',
  char: 'text',
  varchar: 'text',
  nchar: 'text',
  nvarchar: 'text',
  tinytext: 'text',
  text: 'text',
  mediumtext: 'text',
  longtext: 'text',
  'long varchar': 'text',
  long: 'text',
  json: 'text',
  set: 'text',
  enum: 'enum',
  binary: 'binary',
  varbinary: 'binary',
  tinyblob: 'binary',
  blob: 'binary',
  mediumblob: 'binary',
  longblob: 'binary',
  'long varbinary': 'binary',
  vector: 'binary',
  uuid: 'uuid',
  inet4: 'inet4',
  inet6: 'inet6',
  ...Object.fromEntries(SPATIAL_TYPES.map((name) => [name, 'geometry'] as const)),
};

// Parsing the type string per value would dominate decoding; a table has few distinct types.
const familyCache = new Map<string, { family: Family; name: string }>();

function familyOf(column: SourceColumn): { family: Family; name: string } {
  let entry = familyCache.get(column.mysqlType);
  if (!entry) {
    const parsed = parseMysqlType(column.mysqlType);
    const family = FAMILIES[parsed.name];
    if (!family) throw unsupported(column, `type '${column.mysqlType}' is not known to the decoder`);
    entry = { family, name: parsed.name };
    familyCache.set(column.mysqlType, entry);
  }
  return entry;
}

/** familyOf, or undefined for a type the decoder does not know. */
function knownFamilyOf(column: SourceColumn): { family: Family; name: string } | undefined {
  try {
    return familyOf(column);
  } catch {
    return undefined;
  }
}

function unsupported(column: SourceColumn, why: string): SluiceError {
  return new SluiceError('SLUICE_SCHEMA_UNSUPPORTED', `column ${column.name} (${column.mysqlType}): ${why}`, {
    context: { columnName: column.name, mysqlType: column.mysqlType },
  });
}

function describe(raw: unknown): string {
  if (Buffer.isBuffer(raw)) return `a Buffer of ${raw.length} bytes`;
  if (raw instanceof Date) return 'a Date (is zongji running without dateStrings: true?)';
  // Never the value itself: the column may be one that capture settings exclude or mask, which no
  // error message may show (docs/configuration.md, "What is captured").
  if (typeof raw === 'string') return `a string of ${raw.length} characters`;
  return `a value of type ${typeof raw}`;
}

function unexpected(column: SourceColumn, raw: unknown): SluiceError {
  return unsupported(column, `zongji gave ${describe(raw)}, which sluice cannot turn into an exact value`);
}

const INTEGER_TEXT = /^-?\d+$/;
const DECIMAL_TEXT = /^-?\d+(\.\d+)?$/;

/** Turns one value that zongji decoded into sluice's exact form. `undefined` counts as a value zongji could not decode. */
export function toCellValue(raw: unknown, column: SourceColumn): CellValue {
  if (raw === null) return null;
  const { family, name } = familyOf(column);
  switch (family) {
    case 'integer':
      if (typeof raw === 'number' && Number.isSafeInteger(raw)) return String(raw);
      // 64-bit values beyond 2^53 come as exact decimal strings.
      if (typeof raw === 'string' && INTEGER_TEXT.test(raw)) return raw;
      if (typeof raw === 'bigint') return raw.toString();
      throw unexpected(column, raw);
    case 'decimal':
      // zongji builds DECIMAL text digit by digit from the binlog's packed form: exact, with the full scale.
      if (typeof raw === 'string' && DECIMAL_TEXT.test(raw)) return raw;
      throw unexpected(column, raw);
    case 'float':
      if (typeof raw === 'number') return shortestFloat32(raw);
      throw unexpected(column, raw);
    case 'double':
      if (typeof raw === 'number') return shortestDouble(raw);
      throw unexpected(column, raw);
    case 'bit':
      // BIT(n) arrives as its big-endian bytes; Hive gets the unsigned integer they spell.
      if (Buffer.isBuffer(raw)) return raw.length === 0 ? '0' : BigInt('0x' + raw.toString('hex')).toString();
      if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0) return String(raw);
      throw unexpected(column, raw);
    case 'year':
      if (typeof raw === 'number' && Number.isInteger(raw)) return yearText(raw);
      throw unexpected(column, raw);
    case 'temporal':
      // With dateStrings the text is built from the binlog fields (TIMESTAMP rendered in UTC): exact,
      // zero dates included. A Date here would mean the options were lost and microseconds with them.
      if (typeof raw === 'string') return raw;
      throw unexpected(column, raw);
    case 'enum':
      // An invalid value stored in non-strict mode is member 0, the empty string; zongji looks up
      // members[-1] and gives undefined.
      if (raw === undefined) return '';
      if (typeof raw === 'string') return checkedText(raw, column);
      if (Buffer.isBuffer(raw)) return decodeText(raw, column);
      throw unexpected(column, raw);
    case 'text':
      // A SET value is zongji's join of member names, so it is text whatever the charset.
      if (typeof raw === 'string' && name !== 'set' && isSingleByteCharset(charsetOf(column))) {
        throw unsupported(column, `zongji decoded this ${charsetOf(column)} text by iconv-lite's table, not MySQL's; sluice must read such columns as bytes (readSingleByteTextAsBytes)`);
      }
      if (typeof raw === 'string') return checkedText(raw, column);
      // MySQL's binary JSON, which has no charset (MariaDB's JSON is text in one).
      if (Buffer.isBuffer(raw) && name === 'json' && column.charset === null) return mysqlJsonToText(raw);
      if (Buffer.isBuffer(raw)) return decodeText(raw, column);
      throw unexpected(column, raw);
    case 'binary':
      if (Buffer.isBuffer(raw)) return raw;
      // A string here means the bytes were already pushed through a charset: they cannot be restored.
      throw unexpected(column, raw);
    case 'uuid':
      if (typeof raw === 'string') return raw;
      // Under binlog_row_metadata=FULL zongji cannot tell UUID from BINARY(16) and gives the bytes.
      if (Buffer.isBuffer(raw) && raw.length <= 16) return formatUuid(padRight(raw, 16));
      throw unexpected(column, raw);
    case 'inet4':
      if (typeof raw === 'string') return raw;
      if (Buffer.isBuffer(raw) && raw.length <= 4) return formatInet4(padRight(raw, 4));
      throw unexpected(column, raw);
    case 'inet6':
      if (typeof raw === 'string') return raw;
      if (Buffer.isBuffer(raw) && raw.length <= 16) return formatInet6(padRight(raw, 16));
      throw unexpected(column, raw);
    case 'geometry':
      return geometryToWkb(raw, name, column);
  }
}

/** toCellValue for one column, with its dispatch on the column's type done once. */
export type CellDecoder = (raw: unknown) => CellValue;

/**
 * The decoder of a column's values: the same value, or the same error, as toCellValue gives for every
 * input (test/cell-decoder.test.ts compares them). The common case of each family is tested first
 * and anything else goes to toCellValue itself, so the rules stay in one place.
 */
export function cellDecoderFor(column: SourceColumn): CellDecoder {
  const general: CellDecoder = (raw) => toCellValue(raw, column);
  // An unknown type: toCellValue throws for every value but NULL, as it always did.
  const known = knownFamilyOf(column);
  if (!known) return general;
  const { family, name } = known;
  switch (family) {
    case 'integer':
      return (raw) => (typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : general(raw));
    case 'decimal':
      return (raw) => (typeof raw === 'string' && DECIMAL_TEXT.test(raw) ? raw : general(raw));
    case 'float':
      return (raw) => (typeof raw === 'number' ? shortestFloat32(raw) : general(raw));
    case 'double':
      return (raw) => (typeof raw === 'number' ? shortestDouble(raw) : general(raw));
    case 'temporal':
      return (raw) => (typeof raw === 'string' ? raw : general(raw));
    case 'text':
      // Text in a Unicode charset is kept as zongji decoded it (checkedText has nothing to check).
      if (name !== 'set' && UNICODE_CHARSETS.has(charsetOf(column))) return (raw) => (typeof raw === 'string' ? raw : general(raw));
      return general;
    case 'binary':
      return (raw) => (Buffer.isBuffer(raw) ? raw : general(raw));
    default:
      return general;
  }
}

const decodersByColumns = new WeakMap<readonly SourceColumn[], readonly CellDecoder[]>();

/** The decoders of a column list, built at its first use. */
export function cellDecodersOf(columns: readonly SourceColumn[]): readonly CellDecoder[] {
  let decoders = decodersByColumns.get(columns);
  if (!decoders) {
    decoders = columns.map(cellDecoderFor);
    decodersByColumns.set(columns, decoders);
  }
  return decoders;
}

/**
 * What cellDecoderFor(column) makes of the value types zongji's readers give, for a reader that can
 * give the cell itself in one step (row-readers.ts): 'integer' turns a safe integer into String()
 * and keeps integer text, 'decimal' keeps text isDecimalText accepts, 'float' and 'double' print the
 * number (shortestFloat32, shortestDouble), 'year' gives yearText, 'string' keeps a string (temporal
 * text, text in a Unicode charset), 'binary' keeps a Buffer. undefined: the column's values take no
 * such shortcut. Every other value type still goes through the decoder.
 */
export type CellShortcut = 'integer' | 'decimal' | 'float' | 'double' | 'year' | 'string' | 'binary';

export function cellShortcutOf(column: SourceColumn): CellShortcut | undefined {
  const known = knownFamilyOf(column);
  if (!known) return undefined;
  const { family, name } = known;
  switch (family) {
    case 'integer':
    case 'decimal':
    case 'float':
    case 'double':
    case 'year':
    case 'binary':
      return family;
    case 'temporal':
      return 'string';
    case 'text':
      return name !== 'set' && UNICODE_CHARSETS.has(charsetOf(column)) ? 'string' : undefined;
    default:
      return undefined;
  }
}

/** A DECIMAL's text as the decoder keeps it (anything else is an error it raises). */
export function isDecimalText(text: string): boolean {
  return DECIMAL_TEXT.test(text);
}

/**
 * zongji adds 1900 to YEAR's stored byte, so the zero year (stored as 0) comes out as 1900, which
 * YEAR cannot hold (its range is 1901..2155 and 0000).
 */
export function yearText(raw: number): string {
  return raw === 1900 || raw === 0 ? '0000' : String(raw);
}

// ---- numbers -------------------------------------------------------------------------------------

/**
 * zongji widens a FLOAT to the double nearest the float (0.1 arrives as 0.10000000149011612). The
 * shortest decimal that reads back as the same float is the honest text: at most 9 digits always do.
 */
export function shortestFloat32(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Object.is(value, -0)) return '-0';
  const target = Math.fround(value);
  for (let precision = 1; precision <= 9; precision++) {
    const candidate = Number(value.toPrecision(precision));
    // String() of the candidate drops the exponent form toPrecision likes ('1e+2' -> '100').
    if (Math.fround(candidate) === target) return String(candidate);
  }
  return String(value);
}

/** JavaScript's own number printing is already the shortest text that round-trips a double; only -0 needs care. */
export function shortestDouble(value: number): string {
  return Object.is(value, -0) ? '-0' : String(value);
}

// ---- text ----------------------------------------------------------------------------------------

// Multi-byte MySQL charset names to WHATWG labels that Node's TextDecoder (full ICU) knows; the
// Unicode charsets other than utf16le are stored big-endian. The 8-bit charsets have MySQL's own
// tables (single-byte-charsets.ts): WHATWG's differ from MySQL's, and Node 20's windows-1252 is
// ISO-8859-1.
const TEXT_DECODERS: Record<string, string> = {
  utf8: 'utf-8',
  utf8mb3: 'utf-8',
  utf8mb4: 'utf-8',
  big5: 'big5',
  gbk: 'gbk',
  gb2312: 'gbk',
  gb18030: 'gb18030',
  euckr: 'euc-kr',
  ujis: 'euc-jp',
  eucjpms: 'euc-jp',
  sjis: 'shift_jis',
  cp932: 'shift_jis',
  ucs2: 'utf-16be',
  utf16: 'utf-16be',
  utf16le: 'utf-16le',
};

// Charsets that can hold U+FFFD itself. In any other charset a U+FFFD in a text value (a multi-byte
// charset's, or an ENUM or SET member) stands for a byte that iconv-lite could not map or that has
// no character in the charset: the original byte is gone.
const UNICODE_CHARSETS = new Set(['utf8', 'utf8mb3', 'utf8mb4', 'ucs2', 'utf16', 'utf16le', 'utf32', 'gb18030']);

function charsetOf(column: SourceColumn): string {
  return (column.charset ?? 'utf8mb4').toLowerCase();
}

function checkedText(text: string, column: SourceColumn): string {
  const charset = charsetOf(column);
  if (!UNICODE_CHARSETS.has(charset) && text.includes('\ufffd')) {
    throw unsupported(column, `a byte of this ${charset} value could not be decoded (it came as U+FFFD), so the value cannot be kept exactly`);
  }
  return text;
}

/**
 * Decodes a text column's bytes by its charset: the 8-bit charsets, which BinlogSource has zongji
 * hand over as bytes, by MySQL's tables, and the charsets iconv-lite lacks, for which zongji leaves
 * a Buffer.
 */
export function decodeText(bytes: Buffer, column: SourceColumn): string {
  const charset = charsetOf(column);
  const singleByte = decodeSingleByte(bytes, charset);
  if (singleByte !== undefined) {
    const at = singleByte.indexOf('\ufffd');
    // The server keeps such a byte but shows '?' for it: no text holds the value.
    if (at >= 0) throw unsupported(column, `byte 0x${bytes[at]!.toString(16).padStart(2, '0')} of this value has no character in MySQL's ${charset}, so no text can hold the value exactly`);
    return singleByte;
  }
  if (charset === 'utf32') return decodeUtf32(bytes, column);
  const label = TEXT_DECODERS[charset];
  if (!label) throw unsupported(column, `text in charset '${charset}' cannot be decoded by sluice`);
  // ignoreBOM keeps a leading U+FEFF: it is data, the charset's byte order is fixed.
  return new TextDecoder(label, { ignoreBOM: true }).decode(bytes);
}

function decodeUtf32(bytes: Buffer, column: SourceColumn): string {
  if (bytes.length % 4 !== 0) throw unsupported(column, `utf32 text of ${bytes.length} bytes is not whole characters`);
  let text = '';
  for (let offset = 0; offset < bytes.length; offset += 4) text += String.fromCodePoint(bytes.readUInt32BE(offset));
  return text;
}

// ---- MariaDB UUID / INET4 / INET6 ----------------------------------------------------------------

// The row image strips trailing zero bytes of fixed-width binary values.
function padRight(bytes: Buffer, width: number): Buffer {
  if (bytes.length === width) return bytes;
  const padded = Buffer.alloc(width);
  bytes.copy(padded);
  return padded;
}

function formatUuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function formatInet4(bytes: Buffer): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

// MariaDB's own INET6 text (RFC 5952, with IPv4-mapped and IPv4-compatible addresses dotted), so the
// value equals what SELECT shows.
function formatInet6(bytes: Buffer): string {
  if (bytes.subarray(0, 10).every((byte) => byte === 0)) {
    const v4 = formatInet4(bytes.subarray(12));
    if (bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${v4}`;
    if (bytes[10] === 0 && bytes[11] === 0 && bytes.readUInt32BE(12) > 1) return `::${v4}`;
  }
  const groups: number[] = [];
  for (let offset = 0; offset < 16; offset += 2) groups.push(bytes.readUInt16BE(offset));
  let bestStart = -1;
  let bestLength = 1;
  for (let index = 0; index < 8; ) {
    if (groups[index] !== 0) {
      index++;
      continue;
    }
    let end = index;
    while (end < 8 && groups[end] === 0) end++;
    if (end - index > bestLength) {
      bestStart = index;
      bestLength = end - index;
    }
    index = end;
  }
  const hex = (group: number): string => group.toString(16);
  if (bestStart === -1) return groups.map(hex).join(':');
  return `${groups.slice(0, bestStart).map(hex).join(':')}::${groups.slice(bestStart + bestLength).map(hex).join(':')}`;
}

// ---- geometry ------------------------------------------------------------------------------------

// BinlogSource has zongji read geometry columns as blobs, so their stored bytes (SRID + WKB) arrive
// here and the WKB is kept as it is, for every geometry type. Left to itself, zongji 0.9 parses them
// into {x, y} points and nested arrays, dropping the SRID and the WKB type code. For a column declared
// with a concrete geometry type the shape of that parse fixes the WKB type, so the WKB can be written
// again exactly (little-endian, as the server stores it). For GEOMETRY and GEOMETRYCOLLECTION columns
// it cannot: a LineString and a MultiPoint parse to the same array. Those stop the table rather than guess.
interface XY {
  x: number;
  y: number;
}

const WKB_CODES: Record<string, number> = {
  point: 1,
  linestring: 2,
  polygon: 3,
  multipoint: 4,
  multilinestring: 5,
  multipolygon: 6,
};

function geometryToWkb(raw: unknown, typeName: string, column: SourceColumn): Buffer {
  // The stored bytes, as BinlogSource has zongji hand them over: a 4-byte SRID, then the WKB that
  // ST_AsBinary() returns (at least a byte order and a 4-byte type).
  if (Buffer.isBuffer(raw)) {
    if (raw.length < 9) throw unexpected(column, raw);
    return raw.subarray(4);
  }
  const code = WKB_CODES[typeName];
  if (code === undefined) {
    throw unsupported(
      column,
      'zongji 0.9 parses geometry values into coordinates without their WKB type, so the value of a ' +
        'GEOMETRY or GEOMETRYCOLLECTION column cannot be restored exactly; declare a concrete type ' +
        '(POINT, LINESTRING, POLYGON, MULTI...) or exclude the column',
    );
  }
  if (raw === undefined) throw unexpected(column, raw);
  const parts: Buffer[] = [];
  try {
    writeGeometry(parts, code, raw);
  } catch {
    throw unexpected(column, raw);
  }
  return Buffer.concat(parts);
}

function header(parts: Buffer[], code: number, count?: number): void {
  const head = Buffer.alloc(count === undefined ? 5 : 9);
  head.writeUInt8(1, 0); // little-endian, as MySQL and MariaDB write it
  head.writeUInt32LE(code, 1);
  if (count !== undefined) head.writeUInt32LE(count, 5);
  parts.push(head);
}

function points(parts: Buffer[], list: unknown): void {
  if (!Array.isArray(list)) throw new Error('not a point list');
  const body = Buffer.alloc(4 + 16 * list.length);
  body.writeUInt32LE(list.length, 0);
  list.forEach((point: unknown, index) => {
    const { x, y } = asXY(point);
    body.writeDoubleLE(x, 4 + 16 * index);
    body.writeDoubleLE(y, 12 + 16 * index);
  });
  parts.push(body);
}

function asXY(value: unknown): XY {
  const point = value as XY | null;
  if (!point || typeof point.x !== 'number' || typeof point.y !== 'number') throw new Error('not a point');
  return point;
}

function writeGeometry(parts: Buffer[], code: number, value: unknown): void {
  const list = (): unknown[] => {
    if (!Array.isArray(value)) throw new Error('not a list');
    return value;
  };
  switch (code) {
    case 1: {
      const { x, y } = asXY(value);
      header(parts, 1);
      const body = Buffer.alloc(16);
      body.writeDoubleLE(x, 0);
      body.writeDoubleLE(y, 8);
      parts.push(body);
      return;
    }
    case 2:
      header(parts, 2);
      points(parts, value);
      return;
    case 3: {
      const rings = list();
      header(parts, 3, rings.length);
      for (const ring of rings) points(parts, ring);
      return;
    }
    case 4:
    case 5:
    case 6: {
      const members = list();
      header(parts, code, members.length);
      for (const member of members) writeGeometry(parts, code - 3, member);
      return;
    }
  }
}
