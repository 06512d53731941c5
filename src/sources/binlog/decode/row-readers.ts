// Reading the row images of rows events: the daemon's hottest loop. zongji 0.9 reads every value
// through one generic function (lib/common.js readMysqlValue) that dispatches on the column type per
// cell, pads digits through 32-character strings, builds a DataView per double and copies each
// DECIMAL; in a CPU profile of the benchmark's decode-only run those took ~30% of the time, the
// garbage they leave another ~11%.
//
// Here the readers of a rows event's columns are chosen once per event from its TableMap (the type,
// signedness, charset and metadata of each column are fixed by then), and the common types are read
// straight from the packet buffer. Every value is the one zongji's readMysqlValue returns for the same
// bytes, with sluice's options (dateStrings, timezone 'Z'): test/row-readers.test.ts checks that
// byte pattern by byte pattern. Any other type, or other options, goes to zongji's own function.
import type { SourceColumn } from '../../../core/change-event.ts';
import { cellShortcutOf, isDecimalText, shortestDouble, shortestFloat32, yearText, type CellShortcut } from './cell-decoder.ts';
import {
  MYSQL_TYPE_BLOB,
  MYSQL_TYPE_LONG_BLOB,
  MYSQL_TYPE_MEDIUM_BLOB,
  MYSQL_TYPE_STRING,
  MYSQL_TYPE_TINY_BLOB,
  MYSQL_TYPE_VARCHAR,
} from './binlog-type-codes.ts';

const TINY = 1;
const SHORT = 2;
const LONG = 3;
const FLOAT = 4;
const DOUBLE = 5;
const LONGLONG = 8;
const INT24 = 9;
const DATE = 10;
const YEAR = 13;
const DATETIME2 = 18;
const NEWDECIMAL = 246;

/** zongji's packet reader (lib/reader.js), as far as the readers use it. */
export interface RowParser {
  _buffer: Buffer;
  _offset: number;
  _packetEnd: number;
}

/** A column as zongji describes it after the TableMap (lib/binlog_event.js updateColumnInfo, table-map-patches.ts). */
export interface RowColumn {
  name: string;
  type: number;
  charset: string | null;
  metadata?: Record<string, number | undefined> | null;
}

export interface RowColumnSchema {
  COLUMN_TYPE: string;
  UNSIGNED?: boolean;
}

export interface RowTableMap {
  columns: RowColumn[];
  columnSchemas: RowColumnSchema[];
  tableName: string;
  parentSchema: string;
}

/** What zongji's readMysqlValue is handed beside the parser. */
export interface ZongJiReadContext {
  connection?: { config?: { dateStrings?: unknown; timezone?: unknown } } | null;
}

type ReadMysqlValue = (parser: RowParser, column: RowColumn, columnSchema: RowColumnSchema, tableMap: RowTableMap, zongji: ZongJiReadContext) => unknown;

/** Reads one non-NULL value at `at` in `buffer` and moves `at` past it. */
type Reader = (buffer: Buffer, parser: RowParser) => unknown;

// The read offset of the row being read: one variable instead of zongji's getter and setter per
// value (its parser keeps the offset on the mysql2 packet).
let at = 0;

const TWO_32 = 0x1_0000_0000;
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function exactInt64(value: bigint, text: boolean): number | string {
  return !text && value >= MIN_SAFE && value <= MAX_SAFE ? Number(value) : value.toString();
}

const TWO_DIGITS = Array.from({ length: 100 }, (_, value) => String(value).padStart(2, '0'));

/** zongji's zeroPad (lib/common.js): the last `size` characters of the number after 32 zeros. */
function zeroPad(value: number | string, size: number): string {
  if (size === 2 && typeof value === 'number' && value >= 0 && value < 100 && Number.isInteger(value)) return TWO_DIGITS[value]!;
  const text = String(value);
  return text.length >= size ? text.substring(text.length - size) : text.padStart(size, '0');
}

/** Signed big-endian integer of 1-4 bytes (zongji's readIntBE). */
function readIntBE(buffer: Buffer, offset: number, length: number): number {
  switch (length) {
    case 1:
      return buffer.readInt8(offset);
    case 2:
      return buffer.readInt16BE(offset);
    case 3:
      return (buffer.readInt8(offset) << 16) + buffer.readUInt16BE(offset + 1);
    default:
      return buffer.readInt32BE(offset);
  }
}

/** An integer column's reader; with `text`, of its cell: String() of the number (64-bit text stays). */
function integerReader(type: number, unsigned: boolean, text: boolean): Reader | undefined {
  switch (type) {
    case TINY:
      if (text) return unsigned ? (buffer) => String(buffer[at++]) : (buffer) => String(buffer.readInt8(at++));
      return unsigned ? (buffer) => buffer[at++] : (buffer) => buffer.readInt8(at++);
    case SHORT:
      return unsigned
        ? (buffer) => {
            const value = buffer.readUInt16LE(at);
            at += 2;
            return text ? String(value) : value;
          }
        : (buffer) => {
            const value = buffer.readInt16LE(at);
            at += 2;
            return text ? String(value) : value;
          };
    case INT24:
      return unsigned
        ? (buffer) => {
            const value = buffer.readUIntLE(at, 3);
            at += 3;
            return text ? String(value) : value;
          }
        : (buffer) => {
            const value = buffer.readIntLE(at, 3);
            at += 3;
            return text ? String(value) : value;
          };
    case LONG:
      return unsigned
        ? (buffer) => {
            const value = buffer.readUInt32LE(at);
            at += 4;
            return text ? String(value) : value;
          }
        : (buffer) => {
            const value = buffer.readInt32LE(at);
            at += 4;
            return text ? String(value) : value;
          };
    case LONGLONG:
      // A Number within the safe range, otherwise the exact decimal text (zongji's convention).
      return unsigned
        ? (buffer) => {
            const low = buffer.readUInt32LE(at);
            const high = buffer.readUInt32LE(at + 4);
            at += 8;
            if (high < 0x200000) return text ? String(high * TWO_32 + low) : high * TWO_32 + low;
            return exactInt64((BigInt(high) << 32n) | BigInt(low), text);
          }
        : (buffer) => {
            const low = buffer.readUInt32LE(at);
            const high = buffer.readInt32LE(at + 4);
            at += 8;
            if (high > -0x200000 && high < 0x200000) return text ? String(high * TWO_32 + low) : high * TWO_32 + low;
            return exactInt64((BigInt(high) << 32n) | BigInt(low), text);
          };
    default:
      return undefined;
  }
}

const LEADING_ZEROS = /^0+(?=\d)/;
const DECIMAL_BYTES = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
// DECIMAL(65, 30) takes 30 bytes; the sign bit is flipped in this copy, never in the packet.
const decimalScratch = Buffer.alloc(64);

/** DECIMAL(precision, scale) as zongji's parseNewDecimal spells it: exact text with the full scale. */
/**
 * A value a reader meant to give as its cell but could not, as the decoder would refuse it: kept for
 * the decoder, which raises its error where errors of cells are handled (a table stops, not the
 * stream). Only a DECIMAL of bytes no server writes comes to this; readers count them in
 * `undecodableCells`, so that the events that have any take the slow path.
 */
export class UndecodableCell {
  constructor(readonly raw: unknown) {}
}

let undecodable = 0;

/** How many UndecodableCells the readers have given so far. */
export function undecodableCells(): number {
  return undecodable;
}

/** With `text`, the reader gives the cell: the text as cellDecoderFor keeps it, or an UndecodableCell. */
function decimalReader(precision: number, scale: number, text: boolean): Reader {
  const integral = precision - scale;
  const wholeIntegral = Math.floor(integral / 9);
  const wholeFractional = Math.floor(scale / 9);
  const leadDigits = integral - wholeIntegral * 9;
  const tailDigits = scale - wholeFractional * 9;
  const leadBytes = DECIMAL_BYTES[leadDigits]!;
  const tailBytes = DECIMAL_BYTES[tailDigits]!;
  const size = wholeIntegral * 4 + leadBytes + wholeFractional * 4 + tailBytes;
  const exact = exactDecimal(leadBytes, leadDigits, wholeIntegral, wholeFractional, tailBytes, tailDigits);
  return (buffer) => {
    // zongji's copy of a value cut short by the packet's end fails to read; so does this one.
    if (at + size > buffer.length) throw new RangeError(`a DECIMAL of ${size} bytes runs past the end of the event`);
    const start = at;
    at += size;
    const value = exact(buffer, start);
    if (value !== undefined) return value;
    const spelled = zongjiDecimal(buffer, start, size, leadBytes, wholeIntegral, wholeFractional, tailBytes, tailDigits, scale);
    if (!text || isDecimalText(spelled)) return spelled;
    undecodable++;
    return new UndecodableCell(spelled);
  };
}

/**
 * zongji's own spelling, for any bytes: groups read as signed integers, zero-padded by cutting,
 * leading zeros stripped by its RegExp. Only a value no server writes (a digit group out of its
 * range) comes here: exactDecimal reads every other one to the same text.
 */
function zongjiDecimal(
  buffer: Buffer,
  start: number,
  size: number,
  leadBytes: number,
  wholeIntegral: number,
  wholeFractional: number,
  tailBytes: number,
  tailDigits: number,
  scale: number,
): string {
  const bytes = decimalScratch;
  buffer.copy(bytes, 0, start, start + size);
  const positive = (bytes[0]! & 0x80) !== 0;
  bytes[0] = bytes[0]! ^ 0x80;
  // Negative values are stored with every bit flipped.
  const mask = positive ? 0 : -1;
  let pos = 0;
  let digits = '';
  if (leadBytes > 0) {
    digits += (readIntBE(bytes, 0, leadBytes) ^ mask).toString(10);
    pos = leadBytes;
  }
  for (let index = 0; index < wholeIntegral; index++, pos += 4) digits += zeroPad((bytes.readInt32BE(pos) ^ mask).toString(10), 9);
  // Leading zeros go, one digit stays (zongji's expression, so that even a corrupt value reads the same).
  if (digits.charCodeAt(0) === 0x30) digits = digits.replace(LEADING_ZEROS, '');
  let text = (positive ? '' : '-') + (digits === '' ? '0' : digits);
  if (scale > 0) {
    text += '.';
    for (let index = 0; index < wholeFractional; index++, pos += 4) text += zeroPad((bytes.readInt32BE(pos) ^ mask).toString(10), 9);
    if (tailBytes > 0) text += zeroPad((readIntBE(bytes, pos, tailBytes) ^ mask).toString(10), tailDigits);
  }
  return text;
}

const POWERS_OF_TEN = Array.from({ length: 10 }, (_, power) => 10 ** power);
const ZEROS = Array.from({ length: 10 }, (_, count) => '0'.repeat(count));
// '.0'-'.9', '.00'-'.99', '.000'-'.999': the fraction of the common scales in one piece.
const DOT_TAILS = [[], ...[1, 2, 3].map((digits) => Array.from({ length: 10 ** digits }, (_, value) => '.' + String(value).padStart(digits, '0')))];

function padded(value: number, digits: number): string {
  const text = String(value);
  return text.length >= digits ? text : ZEROS[digits - text.length] + text;
}

/**
 * A DECIMAL read straight from the packet (no copy, no per-group strings where the integral part
 * fits a double exactly), or undefined when a digit group is out of its range, which only corrupt
 * bytes give: zongjiDecimal then spells those as zongji does. For in-range groups zongji's text is
 * sign, the integral digits without leading zeros (one at least), and each fractional group
 * zero-padded to its width, which is what this builds.
 */
function exactDecimal(
  leadBytes: number,
  leadDigits: number,
  wholeIntegral: number,
  wholeFractional: number,
  tailBytes: number,
  tailDigits: number,
): (buffer: Buffer, start: number) => string | undefined {
  const leadLimit = POWERS_OF_TEN[leadDigits]!;
  const tailLimit = POWERS_OF_TEN[tailDigits]!;
  // Integral parts up to 15 digits are below 2^53: one number, one String().
  const integralFits = leadDigits + 9 * wholeIntegral <= 15;
  const dotTails = wholeFractional === 0 ? DOT_TAILS[tailDigits] : undefined;
  return (buffer, start) => {
    // The sign bit is set for positive values, and every bit of a negative one is flipped: after
    // these XORs the groups are plain big-endian unsigned integers.
    const flip = (buffer[start]! & 0x80) !== 0 ? 0 : 0xff;
    const firstFlip = flip ^ 0x80;
    let pos = start;
    let integralValue = 0;
    let integralText = '';
    if (leadBytes > 0) {
      let lead = buffer[pos++]! ^ firstFlip;
      for (let index = 1; index < leadBytes; index++) lead = lead * 256 + (buffer[pos++]! ^ flip);
      if (lead >= leadLimit) return undefined;
      integralValue = lead;
    }
    for (let index = 0; index < wholeIntegral; index++) {
      const group = ((buffer[pos]! ^ (pos === start ? firstFlip : flip)) * 0x100_0000 + (buffer[pos + 1]! ^ flip) * 0x1_0000 + (buffer[pos + 2]! ^ flip) * 0x100 + (buffer[pos + 3]! ^ flip));
      pos += 4;
      if (group >= 1_000_000_000) return undefined;
      if (integralFits) integralValue = integralValue * 1_000_000_000 + group;
      else if (integralText !== '') integralText += padded(group, 9);
      else if (integralValue !== 0) integralText = String(integralValue) + padded(group, 9);
      else integralValue = group;
    }
    let text = (flip === 0 ? '' : '-') + (integralText !== '' ? integralText : String(integralValue));
    if (wholeFractional === 0 && tailBytes === 0) return text;
    let fraction = dotTails !== undefined ? '' : '.';
    for (let index = 0; index < wholeFractional; index++) {
      const group = ((buffer[pos]! ^ (pos === start ? firstFlip : flip)) * 0x100_0000 + (buffer[pos + 1]! ^ flip) * 0x1_0000 + (buffer[pos + 2]! ^ flip) * 0x100 + (buffer[pos + 3]! ^ flip));
      pos += 4;
      if (group >= 1_000_000_000) return undefined;
      fraction += padded(group, 9);
    }
    if (tailBytes > 0) {
      let tail = buffer[pos]! ^ (pos === start ? firstFlip : flip);
      for (let index = 1; index < tailBytes; index++) tail = tail * 256 + (buffer[pos + index]! ^ flip);
      if (tail >= tailLimit) return undefined;
      if (dotTails !== undefined) return text + dotTails[tail]!;
      fraction += padded(tail, tailDigits);
    }
    text += fraction;
    return text;
  };
}

/** The '.ffffff' of a TIME2/DATETIME2/TIMESTAMP2 value, as zongji's readTemporalFraction and getFractionString make it. */
function readFraction(buffer: Buffer, precision: number): string {
  if (!precision) return '';
  const size = Math.ceil(precision / 2);
  let fraction = readIntBE(buffer, at, size);
  at += size;
  if (precision % 2 !== 0) fraction /= 10;
  if (fraction < 0) fraction *= -1;
  return '.' + zeroPad(fraction, precision);
}

const THREE_DIGITS = Array.from({ length: 1000 }, (_, value) => String(value).padStart(3, '0'));

/** The fraction of an even precision in one or two pieces from the tables, else readFraction's. */
function fractionText(buffer: Buffer, precision: number): string {
  if (precision === 0 || precision % 2 !== 0) return readFraction(buffer, precision);
  const size = precision / 2;
  const fraction = readIntBE(buffer, at, size);
  // A negative or too large fraction (corrupt bytes) is spelled by zongji's rules.
  if (fraction < 0 || fraction >= POWERS_OF_TEN[precision]!) return readFraction(buffer, precision);
  at += size;
  if (precision === 2) return DOT_TAILS[2]![fraction]!;
  if (precision === 4) return DOT_TAILS[2]![Math.floor(fraction / 100)]! + TWO_DIGITS[fraction % 100]!;
  return DOT_TAILS[3]![Math.floor(fraction / 1000)]! + THREE_DIGITS[fraction % 1000]!;
}

/**
 * Texts of dates, made once per distinct value: a table's dates repeat, and a lookup costs less than
 * the five short strings each would be built from. Bounded: a cache that fills up starts again.
 */
class TextCache {
  private readonly texts = new Map<number, string>();

  constructor(private readonly make: (key: number) => string) {}

  get(key: number): string {
    let text = this.texts.get(key);
    if (text === undefined) {
      if (this.texts.size >= 20_000) this.texts.clear();
      text = this.make(key);
      this.texts.set(key, text);
    }
    return text;
  }
}

// DATETIME2's 17 bits of year * 13 + month and 5 of day, with the space before the time.
const datetimeDates = new TextCache((key) => {
  const yearMonth = key >> 5;
  return zeroPad(Math.floor(yearMonth / 13), 4) + '-' + TWO_DIGITS[yearMonth % 13]! + '-' + TWO_DIGITS[key & 0x1f]! + ' ';
});
// DATE's three bytes.
const dates = new TextCache((raw) => zeroPad((raw & 0xfffe00) >> 9, 4) + '-' + zeroPad((raw & 0x1e0) >> 5, 2) + '-' + zeroPad(raw & 0x1f, 2));
// 'HH:MM:' of DATETIME2's 5 bits of hour and 6 of minute (times hardly repeat: no cache, a table).
const HOURS_MINUTES = Array.from({ length: 1 << 11 }, (_, key) => TWO_DIGITS[key >> 6]! + ':' + TWO_DIGITS[key & 0x3f]! + ':');

function datetime2Reader(precision: number): Reader {
  return (buffer) => {
    const high = buffer.readInt32BE(at);
    const low = buffer.readInt32BE(at + 1);
    at += 5;
    const yearMonth = (high & 0x7fffc000) >> 14;
    // Every field but the year is masked below 100: its two digits come from the tables.
    const text = datetimeDates.get(yearMonth * 32 + ((low & 0x3e0000) >> 17)) + HOURS_MINUTES[(low >> 6) & 0x7ff]! + TWO_DIGITS[low & 0x3f]!;
    return precision === 0 ? text : text + fractionText(buffer, precision);
  };
}

function dateReader(): Reader {
  return (buffer) => {
    const raw = buffer.readUIntLE(at, 3);
    at += 3;
    return dates.get(raw);
  };
}

// The charsets zongji decodes as UTF-8 (its ICONV_CHARSET_OVERRIDES; null is its default).
const UTF8_CHARSETS = new Set<string | null>([null, 'utf8', 'utf8mb3', 'utf8mb4']);

// Buffer's own utf8Slice, which toString('utf8', start, end) calls after checking its arguments:
// ~20% less per string, two strings a row in the benchmark. Feature-tested: it is not documented.
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice?: (this: Buffer, start: number, end: number) => string }).utf8Slice;

function utf8Text(buffer: Buffer, start: number, end: number): string {
  // toString clamps a range past the end (a length corrupt or cut short); utf8Slice would throw.
  return utf8Slice !== undefined && end <= buffer.length ? utf8Slice.call(buffer, start, end) : buffer.toString('utf8', start, end);
}

/** A column's reader, and whether it gives the column's cell (see CellShortcut) instead of zongji's value. */
interface ColumnReader {
  read: Reader;
  cell: boolean;
}

/** Bytes behind a 1-4 byte little-endian length: a Buffer over the packet, or UTF-8 text; either is its own cell. */
function lengthPrefixedReader(lengthSize: number, text: boolean, shortcut: CellShortcut | undefined): ColumnReader {
  const read: Reader = (buffer) => {
    const length = lengthSize === 1 ? buffer[at]! : buffer.readUIntLE(at, lengthSize);
    const start = at + lengthSize;
    at = start + length;
    return text ? utf8Text(buffer, start, at) : buffer.subarray(start, at);
  };
  return { read, cell: shortcut === (text ? 'string' : 'binary') };
}

function stringReader(column: RowColumn, schema: RowColumnSchema, shortcut: CellShortcut | undefined): ColumnReader | undefined {
  const type = schema.COLUMN_TYPE;
  const lengthSize = Number(column.metadata?.max_length) > 255 ? 2 : 1;
  // zongji gives MariaDB's UUID, INET4, INET6 and VECTOR, and BINARY(n), their own forms.
  if (type.startsWith('varbin')) return lengthPrefixedReader(lengthSize, false, shortcut);
  if (type === 'uuid' || type === 'inet4' || type === 'inet6' || type.startsWith('vector') || type.startsWith('binary')) return undefined;
  if (!UTF8_CHARSETS.has(column.charset)) return undefined;
  return lengthPrefixedReader(lengthSize, true, shortcut);
}

function blobReader(column: RowColumn, shortcut: CellShortcut | undefined): ColumnReader | undefined {
  const lengthSize = Number(column.metadata?.length_size);
  if (!(lengthSize >= 1 && lengthSize <= 4)) return undefined;
  if (column.charset === null) return lengthPrefixedReader(lengthSize, false, shortcut);
  return UTF8_CHARSETS.has(column.charset) ? lengthPrefixedReader(lengthSize, true, shortcut) : undefined;
}

/**
 * The fast reader of a column, or undefined for zongji's own. Where the decoder of the column's
 * cells takes a shortcut for what the reader gives, the reader gives the cell itself: one step, and
 * no intermediate number or string.
 */
function fastReader(column: RowColumn, schema: RowColumnSchema, shortcut: CellShortcut | undefined): ColumnReader | undefined {
  switch (column.type) {
    case TINY:
    case SHORT:
    case INT24:
    case LONG:
    case LONGLONG: {
      const cell = shortcut === 'integer';
      const read = integerReader(column.type, schema.UNSIGNED !== undefined ? schema.UNSIGNED : schema.COLUMN_TYPE.includes('unsigned'), cell);
      return read && { read, cell };
    }
    case FLOAT: {
      const cell = shortcut === 'float';
      const read: Reader = (buffer) => {
        const value = buffer.readFloatLE(at);
        at += 4;
        return cell ? shortestFloat32(value) : value;
      };
      return { read, cell };
    }
    case DOUBLE: {
      const cell = shortcut === 'double';
      const read: Reader = (buffer) => {
        const value = buffer.readDoubleLE(at);
        at += 8;
        return cell ? shortestDouble(value) : value;
      };
      return { read, cell };
    }
    case NEWDECIMAL: {
      const precision = Number(column.metadata?.precision);
      const scale = Number(column.metadata?.decimals);
      if (!Number.isInteger(precision) || !Number.isInteger(scale) || precision < 1 || precision > 65 || scale < 0 || scale > precision) return undefined;
      const cell = shortcut === 'decimal';
      return { read: decimalReader(precision, scale, cell), cell };
    }
    case DATETIME2: {
      const precision = Number(column.metadata?.decimals ?? 0);
      return Number.isInteger(precision) && precision >= 0 && precision <= 6 ? { read: datetime2Reader(precision), cell: shortcut === 'string' } : undefined;
    }
    case DATE:
      return { read: dateReader(), cell: shortcut === 'string' };
    case YEAR:
      if (shortcut === 'year') return { read: (buffer) => yearText(buffer[at++]! + 1900), cell: true };
      return { read: (buffer) => buffer[at++]! + 1900, cell: false };
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_STRING:
      return stringReader(column, schema, shortcut);
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
      return blobReader(column, shortcut);
    default:
      return undefined;
  }
}

/**
 * The rows of one rows event, read as zongji's readRow reads them, except that an image is an array
 * in the TableMap's column order instead of an object keyed by column name: BinlogSource turns it
 * into the change's cells in place, so an image costs one array instead of an object and an array.
 * With `cellColumns` (the columns of the changes the images become), a column whose reader gives its
 * cell holds that cell, and `cells[index]` is true for it.
 */
export interface RowImageReader {
  read(parser: RowParser): unknown[];
  /** Reads the image at `offset` of `buffer` (`parser` over the same bytes); readEnd() is where it ends. */
  readAt(buffer: Buffer, offset: number, parser: RowParser): unknown[];
  readonly cells: readonly boolean[];
}

/** Where the image the last readAt() read ends. */
export function readEnd(): number {
  return at;
}

/**
 * The reader of the row images of a table's rows events with the given columns-present bitmap.
 * `readMysqlValue` is zongji's own, for the types read here no faster.
 */
export function compileRowReader(
  tableMap: RowTableMap,
  bitmap: Buffer,
  zongji: ZongJiReadContext,
  readMysqlValue: ReadMysqlValue,
  cellColumns?: readonly SourceColumn[],
): RowImageReader {
  const config = zongji.connection?.config;
  // Other options give other values (Dates, numbers): zongji's function then reads every column.
  const ownOptions = config?.dateStrings === true && config.timezone === 'Z';
  const count = tableMap.columns.length;
  const present: boolean[] = [];
  const readers: Reader[] = [];
  const cells: boolean[] = [];
  // As zongji counts them: every bit set in the bitmap, its padding bits too.
  let presentCount = 0;
  for (const byte of bitmap) for (let bits = byte; bits !== 0; bits &= bits - 1) presentCount++;
  for (let index = 0; index < count; index++) {
    const column = tableMap.columns[index]!;
    const schema = tableMap.columnSchemas[index]!;
    const isPresent = (bitmap[index >> 3]! & (1 << (index & 7))) !== 0;
    present.push(isPresent);
    const cellColumn = cellColumns?.[index];
    const fast = ownOptions ? fastReader(column, schema, cellColumn && cellShortcutOf(cellColumn)) : undefined;
    cells.push(fast?.cell ?? false);
    readers.push(
      fast?.read ??
        ((_buffer, parser) => {
          parser._offset = at;
          const value = readMysqlValue(parser, column, schema, tableMap, zongji);
          at = parser._offset;
          return value;
        }),
    );
  }
  const nullBitmapSize = (presentCount + 7) >> 3;
  const readAt = (buffer: Buffer, nullStart: number, parser: RowParser): unknown[] => {
    at = nullStart + nullBitmapSize;
    const row: unknown[] = new Array(count);
    for (let index = 0, nullBit = 0; index < count; index++) {
      if (!present[index]) {
        row[index] = null;
        continue;
      }
      row[index] = (buffer[nullStart + (nullBit >> 3)]! & (1 << (nullBit & 7))) !== 0 ? null : readers[index]!(buffer, parser);
      nullBit++;
    }
    return row;
  };
  return {
    read(parser) {
      const row = readAt(parser._buffer, parser._offset, parser);
      parser._offset = at;
      return row;
    },
    readAt,
    cells,
  };
}
