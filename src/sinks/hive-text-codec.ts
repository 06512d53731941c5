// Hive's default text format (LazySimpleSerDe) with escaping turned on, so that any value, any byte,
// round-trips: written here, read back by Hive, by `sluice query`, or by decodeLine below.
//
// Every rule follows Hive's source (serde2/lazy/LazyUtils.java, LazySerDeParameters.java,
// LazyStruct.java, LazyBinary.java) for a table created with TEXT_SERDE_PROPERTIES (catalog/hive-text-table.ts):
// - fields end at \x01, rows at \n; a field that is exactly `\N` is NULL (serialization.null.format);
// - with escape.delim set, Hive writes a backslash before the escape char itself and before every
//   separator byte (the field delimiter and the 7 nested-collection delimiters \x02..\x08), and with
//   serialization.escape.crlf=true it writes CR and LF as `\r` and `\n`, because Hadoop's
//   LineRecordReader ends a line at \n, \r or \r\n and would cut the row in two otherwise;
// - a reader skips the byte after a backslash when looking for \x01, compares the raw field with
//   `\N` before unescaping (so a value that is literally `\N`, written `\\N`, stays a string), then
//   unescapes: `\r` -> CR, `\n` -> LF, `\x` -> x;
// - binary columns are base64 (LazyUtils.writePrimitiveUTF8 encodes them, LazyBinary decodes them),
//   so they never need escaping;
// - a row with fewer fields than the table has columns reads the missing ones as NULL, which is what
//   makes `ALTER TABLE ... ADD COLUMNS` safe for files written before it. Extra fields are ignored.
import type { CellValue } from '../core/change-event.ts';
import { SluiceError } from '../core/errors.ts';

const FIELD_DELIMITER = 0x01;
const ROW_DELIMITER = 0x0a;
const ESCAPE = 0x5c; // '\'
const NULL_FIELD = Buffer.from('\\N', 'latin1');

// Bytes Hive escapes with escape.delim='\' and escape.crlf=true: the escape char, the 8 default
// separators (\x01 field, \x02..\x08 nested levels) and CR/LF. Only \x01, CR, LF and '\' matter for
// top-level primitive columns; escaping the rest as Hive does keeps the files byte-identical to
// what Hive itself writes.
const NEEDS_ESCAPE = /[\\\x01-\x08\n\r]/g;

function escapeChar(char: string): string {
  if (char === '\n') return '\\n';
  if (char === '\r') return '\\r';
  return '\\' + char;
}

function isBinaryType(hiveType: string): boolean {
  return hiveType.trim().toLowerCase() === 'binary';
}

function escapeBytes(bytes: Buffer): Buffer {
  let extra = 0;
  for (const byte of bytes) if (byte === ESCAPE || (byte >= 0x01 && byte <= 0x08) || byte === 0x0a || byte === 0x0d) extra++;
  if (extra === 0) return bytes;
  const out = Buffer.allocUnsafe(bytes.length + extra);
  let at = 0;
  for (const byte of bytes) {
    if (byte === 0x0a || byte === 0x0d) {
      out[at++] = ESCAPE;
      out[at++] = byte === 0x0a ? 0x6e : 0x72;
    } else {
      if (byte === ESCAPE || (byte >= 0x01 && byte <= 0x08)) out[at++] = ESCAPE;
      out[at++] = byte;
    }
  }
  return out;
}

const binaryTypes = new Map<string, boolean>();

function isBinaryColumn(hiveType: string): boolean {
  let binary = binaryTypes.get(hiveType);
  if (binary === undefined) {
    binary = isBinaryType(hiveType);
    binaryTypes.set(hiveType, binary);
  }
  return binary;
}

const NEEDS_ESCAPE_TEST = /[\\\x01-\x08\n\r]/;

/** One row as Hive's text format: the fields, each escaped, joined by \x01, ending in \n. */
export function encodeRow(values: readonly CellValue[], hiveTypes: readonly string[]): Buffer {
  const line = encodeRowLine(values, binaryColumns(hiveTypes));
  return typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
}

/** For each Hive type, whether its values are written as base64 (encodeRowLine's `binary`). */
export function binaryColumns(hiveTypes: readonly string[]): boolean[] {
  return hiveTypes.map(isBinaryColumn);
}

/**
 * The bytes of encodeRow, as the string whose UTF-8 they are when the row's values are all text (the
 * common row: the writer then encodes it straight into its buffer), else as the bytes.
 */
export function encodeRowLine(values: readonly CellValue[], binary: readonly boolean[]): string | Buffer {
  if (values.length !== binary.length) {
    throw new SluiceError('SLUICE_SCHEMA_UNSUPPORTED', `a row of ${values.length} values does not fit a table of ${binary.length} columns`);
  }
  // Build one string and encode it once. This is the daemon's hottest loop, and a Buffer per
  // field (then a concat) cost a third of its time.
  let line = '';
  for (let index = 0; index < values.length; index++) {
    if (index > 0) line += '\x01';
    const value = values[index];
    if (value === null || value === undefined) {
      line += '\\N';
    } else if (binary[index]) {
      line += (typeof value === 'string' ? Buffer.from(value, 'utf8') : value).toString('base64');
    } else if (typeof value === 'string') {
      // The bytes that need escaping are all ASCII, which never occurs inside a multi-byte UTF-8
      // sequence, so escaping the string is the same as escaping its UTF-8 bytes.
      line += NEEDS_ESCAPE_TEST.test(value) ? value.replace(NEEDS_ESCAPE, escapeChar) : value;
    } else {
      return encodeRowWithBytes(values, binary);
    }
  }
  return line + '\n';
}

/** The general case: a text column holding raw bytes (not valid UTF-8) is written byte for byte. */
function encodeRowWithBytes(values: readonly CellValue[], binary: readonly boolean[]): Buffer {
  const parts: Buffer[] = [];
  for (let index = 0; index < values.length; index++) {
    if (index > 0) parts.push(FIELD_SEPARATOR);
    const value = values[index];
    if (value === null || value === undefined) {
      parts.push(NULL_FIELD);
    } else if (binary[index]) {
      const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
      parts.push(Buffer.from(bytes.toString('base64'), 'latin1'));
    } else if (typeof value === 'string') {
      parts.push(Buffer.from(value.replace(NEEDS_ESCAPE, escapeChar), 'utf8'));
    } else {
      parts.push(escapeBytes(value));
    }
  }
  parts.push(ROW_SEPARATOR);
  return Buffer.concat(parts);
}

const FIELD_SEPARATOR = Buffer.from([FIELD_DELIMITER]);
const ROW_SEPARATOR = Buffer.from([ROW_DELIMITER]);

// A row whose values add up to this many bytes or UTF-16 units is encoded piece by piece.
const LARGE_ROW = 1024 * 1024;
// Bytes or UTF-16 units per piece; base64 pieces are a multiple of 3 bytes, so they join into one
// base64 text without padding in between.
const PIECE = 1024 * 1024;
const BASE64_PIECE = 3 * 256 * 1024;

/** True when a row is large enough that encodeRow would hold several copies of it (see encodeRowPieces). */
export function isLargeRow(values: readonly CellValue[]): boolean {
  let size = 0;
  for (const value of values) if (value !== null && value !== undefined) size += value.length;
  return size >= LARGE_ROW;
}

/**
 * The bytes of encodeRow, in pieces of about 1 MiB, for rows that hold a large value (a LONGBLOB or
 * LONGTEXT of up to 1 GiB). encodeRow builds the whole line as a string, its base64 or escaped copy and
 * then its UTF-8 bytes: for a 64 MiB LONGTEXT full of characters to escape that peaked at 1.7 GiB of
 * heap. Here each piece is converted and escaped on its own, so a row costs about one piece beyond
 * the value the change already holds.
 */
export function* encodeRowPieces(values: readonly CellValue[], hiveTypes: readonly string[]): Generator<Buffer> {
  if (values.length !== hiveTypes.length) {
    throw new SluiceError('SLUICE_SCHEMA_UNSUPPORTED', `a row of ${values.length} values does not fit a table of ${hiveTypes.length} columns`);
  }
  for (let index = 0; index < values.length; index++) {
    if (index > 0) yield FIELD_SEPARATOR;
    const value = values[index];
    if (value === null || value === undefined) {
      yield NULL_FIELD;
    } else if (isBinaryColumn(hiveTypes[index]!)) {
      const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
      for (let at = 0; at < bytes.length; at += BASE64_PIECE) yield Buffer.from(bytes.subarray(at, at + BASE64_PIECE).toString('base64'), 'latin1');
    } else if (typeof value === 'string') {
      for (let at = 0; at < value.length; ) {
        let end = Math.min(value.length, at + PIECE);
        // Never split a surrogate pair: each half alone would encode as U+FFFD.
        const last = value.charCodeAt(end - 1);
        if (end < value.length && last >= 0xd800 && last <= 0xdbff) end++;
        // Escaping the UTF-8 bytes is escaping the text: every byte to escape is ASCII.
        yield escapeBytes(Buffer.from(value.slice(at, end), 'utf8'));
        at = end;
      }
    } else {
      for (let at = 0; at < value.length; at += PIECE) yield escapeBytes(value.subarray(at, at + PIECE));
    }
  }
  yield ROW_SEPARATOR;
}

function unescape(field: Buffer): Buffer {
  const first = field.indexOf(ESCAPE);
  if (first < 0) return field;
  const out = Buffer.allocUnsafe(field.length);
  field.copy(out, 0, 0, first);
  let at = first;
  for (let index = first; index < field.length; index++) {
    const byte = field[index]!;
    // As LazyUtils.copyAndEscapeStringDataToText: a trailing lone backslash is kept as it is.
    if (byte === ESCAPE && index < field.length - 1) {
      const next = field[++index]!;
      out[at++] = next === 0x6e ? 0x0a : next === 0x72 ? 0x0d : next;
    } else {
      out[at++] = byte;
    }
  }
  return out.subarray(0, at);
}

/**
 * Reads one row (with or without its \n). Text columns come back as strings; binary columns as
 * Buffers. As in Hive, missing trailing fields are NULL and surplus fields are ignored.
 */
export function decodeLine(line: Buffer, hiveTypes: readonly string[]): CellValue[] {
  let end = line.length;
  if (end > 0 && line[end - 1] === ROW_DELIMITER) end--;
  const values: CellValue[] = new Array(hiveTypes.length).fill(null);
  let column = 0;
  let start = 0;
  for (let index = 0; index <= end && column < hiveTypes.length; index++) {
    if (index < end) {
      const byte = line[index];
      if (byte === ESCAPE && index + 1 < end) {
        index++; // the byte after an escape is never a delimiter (LazyStruct.parse)
        continue;
      }
      if (byte !== FIELD_DELIMITER) continue;
    }
    const field = line.subarray(start, Math.min(index, end));
    values[column] = decodeField(field, hiveTypes[column]!);
    column++;
    start = index + 1;
  }
  return values;
}

function decodeField(field: Buffer, hiveType: string): CellValue {
  if (field.equals(NULL_FIELD)) return null;
  if (isBinaryType(hiveType)) return Buffer.from(field.toString('latin1'), 'base64');
  return unescape(field).toString('utf8');
}

/** The rows of a whole file (its last row may lack the final \n, as Hadoop allows). */
export function* decodeRows(content: Buffer, hiveTypes: readonly string[]): Generator<CellValue[]> {
  let start = 0;
  while (start < content.length) {
    let end = content.indexOf(ROW_DELIMITER, start);
    if (end < 0) end = content.length;
    yield decodeLine(content.subarray(start, end), hiveTypes);
    start = end + 1;
  }
}

/**
 * Splits a byte stream into rows without their \n, holding at most one partial row in memory.
 * Only \n ends a row: the writer escapes every CR and LF inside values.
 */
export async function* splitLines(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  for await (const chunk of source) {
    let buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let newline = buffer.indexOf(ROW_DELIMITER);
    while (newline >= 0) {
      const head = buffer.subarray(0, newline);
      yield pending.length === 0 ? head : Buffer.concat([...pending, head]);
      pending = [];
      buffer = buffer.subarray(newline + 1);
      newline = buffer.indexOf(ROW_DELIMITER);
    }
    if (buffer.length > 0) pending.push(buffer);
  }
  if (pending.length > 0) yield Buffer.concat(pending);
}
