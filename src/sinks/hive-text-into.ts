// Hive text rows encoded straight into a file's buffer: the bytes of hive-text-codec.ts's encodeRow
// (the same rules, tested against it byte for byte), without the line as a string, its UTF-8 copy,
// a RegExp test per value or a base64 string per binary value. In the daemon's CPU profile the
// line string, its copy into the buffer, the escape RegExp and base64Slice took ~17% of the time.
//
// Each value is written by char code: ASCII as it is (or escaped), the rest as UTF-8 exactly as
// Buffer.from(text, 'utf8') has it (a lone surrogate becomes U+FFFD). Before each value the encoder
// checks that its largest possible size fits before `end`; a row that may not fit gives -1, and the
// caller flushes (or, for a row larger than the buffer, takes encodeRow's path).
import type { CellValue } from '../core/change-event.ts';
import { SluiceError } from '../core/errors.ts';

const FIELD_DELIMITER = 0x01;
const ROW_DELIMITER = 0x0a;
const ESCAPE = 0x5c;
const NULL_SECOND = 0x4e; // the N of \N

// For each ASCII byte, 0 when it is written as it is, else the byte written after a backslash (the
// escape char and \x01-\x08 themselves, LF as n, CR as r): hive-text-codec.ts's NEEDS_ESCAPE.
const ESCAPED = new Uint8Array(128);
for (let byte = 0x01; byte <= 0x08; byte++) ESCAPED[byte] = byte;
ESCAPED[ESCAPE] = ESCAPE;
ESCAPED[0x0a] = 0x6e;
ESCAPED[0x0d] = 0x72;

const BASE64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1');
const BASE64_PAD = 0x3d;
// Longer binary values go through Node's native base64 (one string, then copied): faster per byte.
const NATIVE_BASE64_FROM = 1024;

/**
 * Text columns whose value is mostly the same as the row before's (the changelog's `_op`, `_ts`,
 * `_pos`, `_source`, a third of a narrow row's bytes): for each, the last value and its bytes, copied
 * instead of encoded again. A value that differs is encoded and its bytes kept in the column's own
 * small buffer (no allocation, so a column that changes every row costs little more than before).
 */
export class RepeatedColumns {
  private readonly last: (string | undefined)[] = [];
  private readonly kept: Buffer[] = [];
  private readonly keptLength: number[] = [];
  /** By column index: whether the column is one of them. */
  readonly has: boolean[] = [];

  constructor(indexes: readonly number[]) {
    for (const index of indexes) {
      this.has[index] = true;
      this.kept[index] = Buffer.allocUnsafe(KEPT_BYTES);
    }
  }

  /** textInto, or the bytes of the column's last value when `text` is that value. */
  textInto(index: number, text: string, out: Buffer, at: number, end: number): number {
    const kept = this.kept[index]!;
    if (text === this.last[index]) {
      const length = this.keptLength[index]!;
      if (at + length >= end) return -1;
      for (let offset = 0; offset < length; offset++) out[at++] = kept[offset]!;
      return at;
    }
    const start = at;
    at = textInto(text, out, at, end);
    const length = at - start;
    // A longer value (or none that fitted) is not kept: the next row encodes it again.
    this.last[index] = at >= 0 && length <= KEPT_BYTES ? text : undefined;
    for (let offset = 0; offset < length && offset < KEPT_BYTES; offset++) kept[offset] = out[start + offset]!;
    this.keptLength[index] = length;
    return at;
  }
}

// The bytes kept per repeating column: a GTID, a binlog file and offset, a table name.
const KEPT_BYTES = 256;

/**
 * Writes encodeRow(values, types)'s bytes into `out` from `at`, and returns the offset past them, or
 * -1 when the row may not fit before `end` (`out` past `at` may then hold part of it). `binary`:
 * binaryColumns(types).
 */
export function encodeRowInto(values: readonly CellValue[], binary: readonly boolean[], out: Buffer, at: number, end: number, repeated?: RepeatedColumns): number {
  if (values.length !== binary.length) {
    throw new SluiceError('SLUICE_SCHEMA_UNSUPPORTED', `a row of ${values.length} values does not fit a table of ${binary.length} columns`);
  }
  // Every writer below leaves at least one byte before `end`, for the delimiter that follows.
  for (let index = 0; index < values.length; index++) {
    if (index > 0) out[at++] = FIELD_DELIMITER;
    const value = values[index];
    if (value === null || value === undefined) {
      if (at + 2 >= end) return -1;
      out[at++] = ESCAPE;
      out[at++] = NULL_SECOND;
    } else if (binary[index]) {
      at = base64Into(typeof value === 'string' ? Buffer.from(value, 'utf8') : value, out, at, end);
    } else if (typeof value === 'string') {
      at = repeated?.has[index] ? repeated.textInto(index, value, out, at, end) : textInto(value, out, at, end);
    } else {
      at = bytesInto(value, out, at, end);
    }
    if (at < 0) return -1;
  }
  if (at >= end) return -1;
  out[at++] = ROW_DELIMITER;
  return at;
}

/** Text as escaped UTF-8: at most 3 bytes per UTF-16 unit (an escape is 2, a surrogate pair 4 for 2). */
function textInto(text: string, out: Buffer, at: number, end: number): number {
  const length = text.length;
  if (at + 3 * length >= end) return -1;
  // The common value, printable ASCII throughout: one test per char.
  let index = 0;
  for (; index < length; index++) {
    const code = text.charCodeAt(index);
    if (code <= 0x0d || code >= 0x80 || code === ESCAPE) break;
    out[at + index] = code;
  }
  if (index === length) return at + length;
  return textIntoFrom(text, index, out, at + index);
}

/** textInto's general case, from the first char that is not printable ASCII. */
function textIntoFrom(text: string, from: number, out: Buffer, at: number): number {
  const length = text.length;
  for (let index = from; index < length; index++) {
    const code = text.charCodeAt(index);
    if (code > 0x0d && code < 0x80 && code !== ESCAPE) {
      out[at++] = code;
    } else if (code < 0x80) {
      const escaped = ESCAPED[code]!;
      if (escaped === 0) {
        out[at++] = code;
      } else {
        out[at++] = ESCAPE;
        out[at++] = escaped;
      }
    } else if (code < 0x800) {
      out[at++] = 0xc0 | (code >> 6);
      out[at++] = 0x80 | (code & 0x3f);
    } else if (code < 0xd800 || code > 0xdfff) {
      out[at++] = 0xe0 | (code >> 12);
      out[at++] = 0x80 | ((code >> 6) & 0x3f);
      out[at++] = 0x80 | (code & 0x3f);
    } else {
      const low = index + 1 < length ? text.charCodeAt(index + 1) : 0;
      if (code <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
        const point = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        out[at++] = 0xf0 | (point >> 18);
        out[at++] = 0x80 | ((point >> 12) & 0x3f);
        out[at++] = 0x80 | ((point >> 6) & 0x3f);
        out[at++] = 0x80 | (point & 0x3f);
        index++;
      } else {
        // A lone surrogate: U+FFFD, as Node's UTF-8 encoder writes it.
        out[at++] = 0xef;
        out[at++] = 0xbf;
        out[at++] = 0xbd;
      }
    }
  }
  return at;
}

/** Raw bytes in a text column (not valid UTF-8), escaped byte for byte. */
function bytesInto(bytes: Buffer, out: Buffer, at: number, end: number): number {
  const length = bytes.length;
  if (at + 2 * length >= end) return -1;
  for (let index = 0; index < length; index++) {
    const byte = bytes[index]!;
    const escaped = byte < 0x80 ? ESCAPED[byte]! : 0;
    if (escaped === 0) {
      out[at++] = byte;
    } else {
      out[at++] = ESCAPE;
      out[at++] = escaped;
    }
  }
  return at;
}

/** Base64 with padding, as Buffer's toString('base64'). */
function base64Into(bytes: Buffer, out: Buffer, at: number, end: number): number {
  const length = bytes.length;
  const size = 4 * Math.ceil(length / 3);
  if (at + size >= end) return -1;
  if (length >= NATIVE_BASE64_FROM) return at + out.write(bytes.toString('base64'), at, 'latin1');
  const whole = length - (length % 3);
  let index = 0;
  while (index < whole) {
    const triple = (bytes[index]! << 16) | (bytes[index + 1]! << 8) | bytes[index + 2]!;
    index += 3;
    out[at++] = BASE64[triple >> 18]!;
    out[at++] = BASE64[(triple >> 12) & 0x3f]!;
    out[at++] = BASE64[(triple >> 6) & 0x3f]!;
    out[at++] = BASE64[triple & 0x3f]!;
  }
  if (index < length) {
    const first = bytes[index]!;
    const second = index + 1 < length ? bytes[index + 1]! : 0;
    out[at++] = BASE64[first >> 2]!;
    out[at++] = BASE64[((first & 0x03) << 4) | (second >> 4)]!;
    out[at++] = index + 1 < length ? BASE64[(second & 0x0f) << 2]! : BASE64_PAD;
    out[at++] = BASE64_PAD;
  }
  return at;
}
