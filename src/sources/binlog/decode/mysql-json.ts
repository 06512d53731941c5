// MySQL's binary JSON (sql-common/json_binary.h) turned into the text MySQL itself prints for it
// (CAST(j AS CHAR), Json_wrapper::to_string), so that a JSON column reaches Hive as MySQL shows it.
// zongji 0.9's decoder differs: doubles in JavaScript's form (1, 1e+21, 1e-7, 0 for MySQL's 1.0,
// 1e21, 0.0000001, -0.0), DECIMAL and TIMESTAMP opaque values, base64 without MySQL's line breaks,
// and objects rebuilt as JavaScript objects (which put integer-like keys first). MySQL's JSON columns
// are read as bytes (table-map-patches.ts) and decoded here; MariaDB's JSON is text and never comes here.
//
// Layout: a type byte, then the value. Objects and arrays come in a small form (2-byte counts and
// offsets) and a large one (4-byte, for documents past 64 KiB); offsets count from the container's
// first byte after its type. Scalars small enough sit in the value entry itself.

const SMALL_OBJECT = 0x00;
const LARGE_OBJECT = 0x01;
const SMALL_ARRAY = 0x02;
const LARGE_ARRAY = 0x03;
const LITERAL = 0x04;
const INT16 = 0x05;
const UINT16 = 0x06;
const INT32 = 0x07;
const UINT32 = 0x08;
const INT64 = 0x09;
const UINT64 = 0x0a;
const DOUBLE = 0x0b;
const STRING = 0x0c;
const OPAQUE = 0x0f;

// Field types of opaque values MySQL prints as something other than base64 (include/field_types.h).
const FIELD_TIMESTAMP = 7;
const FIELD_DATE = 10;
const FIELD_TIME = 11;
const FIELD_DATETIME = 12;
const FIELD_NEWDECIMAL = 246;

/** The text MySQL prints for a binary JSON value; null for an empty value (what the row image holds for SQL NULL JSON). */
export function mysqlJsonToText(bytes: Buffer): string | null {
  if (bytes.length === 0) return null;
  const out: string[] = [];
  writeValue(bytes, bytes[0]!, 1, out);
  return out.join('');
}

function writeValue(bytes: Buffer, type: number, at: number, out: string[]): void {
  switch (type) {
    case SMALL_OBJECT:
    case LARGE_OBJECT:
    case SMALL_ARRAY:
    case LARGE_ARRAY:
      return writeContainer(bytes, type, at, out);
    case LITERAL:
      out.push(literal(bytes[at]!));
      return;
    case INT16:
      out.push(String(bytes.readInt16LE(at)));
      return;
    case UINT16:
      out.push(String(bytes.readUInt16LE(at)));
      return;
    case INT32:
      out.push(String(bytes.readInt32LE(at)));
      return;
    case UINT32:
      out.push(String(bytes.readUInt32LE(at)));
      return;
    case INT64:
      out.push(bytes.readBigInt64LE(at).toString());
      return;
    case UINT64:
      out.push(bytes.readBigUInt64LE(at).toString());
      return;
    case DOUBLE:
      out.push(mysqlDoubleText(bytes.readDoubleLE(at)));
      return;
    case STRING: {
      const { value: length, next } = readVariableLength(bytes, at);
      out.push(quote(bytes.toString('utf8', next, next + length)));
      return;
    }
    case OPAQUE: {
      const fieldType = bytes[at]!;
      const { value: length, next } = readVariableLength(bytes, at + 1);
      out.push(opaqueText(fieldType, bytes.subarray(next, next + length)));
      return;
    }
    default:
      throw new Error(`binary JSON value of unknown type 0x${type.toString(16)} at byte ${at}`);
  }
}

function literal(code: number): string {
  if (code === 0) return 'null';
  if (code === 1) return 'true';
  if (code === 2) return 'false';
  throw new Error(`binary JSON literal of unknown value ${code}`);
}

function writeContainer(bytes: Buffer, type: number, start: number, out: string[]): void {
  const large = type === LARGE_OBJECT || type === LARGE_ARRAY;
  const isObject = type === SMALL_OBJECT || type === LARGE_OBJECT;
  const size = large ? 4 : 2;
  const read = (at: number): number => (large ? bytes.readUInt32LE(at) : bytes.readUInt16LE(at));
  const count = read(start);
  const keyEntries = start + 2 * size;
  const valueEntries = keyEntries + (isObject ? count * (size + 2) : 0);
  out.push(isObject ? '{' : '[');
  for (let index = 0; index < count; index++) {
    if (index > 0) out.push(', ');
    if (isObject) {
      const keyEntry = keyEntries + index * (size + 2);
      const keyAt = start + read(keyEntry);
      out.push(quote(bytes.toString('utf8', keyAt, keyAt + bytes.readUInt16LE(keyEntry + size))), ': ');
    }
    const entry = valueEntries + index * (1 + size);
    const valueType = bytes[entry]!;
    // Literals and 16-bit integers (and 32-bit ones in the large form) sit in the entry itself.
    const inlined = valueType === LITERAL || valueType === INT16 || valueType === UINT16 || (large && (valueType === INT32 || valueType === UINT32));
    writeValue(bytes, valueType, inlined ? entry + 1 : start + read(entry + 1), out);
  }
  out.push(isObject ? '}' : ']');
}

/** MySQL's variable-length integer: 7 bits a byte, least significant first, the high bit saying another byte follows. */
function readVariableLength(bytes: Buffer, at: number): { value: number; next: number } {
  let value = 0;
  for (let shift = 0, position = at; ; shift += 7, position++) {
    const byte = bytes[position]!;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return { value, next: position + 1 };
  }
}

/** A JSON string as MySQL quotes it (json_dom.cc double_quote): the short escapes, \u00xx for other control characters. */
function quote(text: string): string {
  let quoted = '"';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === '"' || char === '\\') quoted += '\\' + char;
    else if (char === '\b') quoted += '\\b';
    else if (char === '\f') quoted += '\\f';
    else if (char === '\n') quoted += '\\n';
    else if (char === '\r') quoted += '\\r';
    else if (char === '\t') quoted += '\\t';
    else if (code < 0x20) quoted += '\\u00' + code.toString(16).padStart(2, '0');
    else quoted += char;
  }
  return quoted + '"';
}

/**
 * A double as MySQL prints it in JSON: the shortest digits that read back as the same double, in
 * positional form when its exponent is between -15 and 14 (or when the digits go past the point,
 * as 1234567890123456.8 does), else as 1.5e21 / 1e-16; ".0" added where no point or exponent
 * would tell it from an integer. Checked against MySQL 9.7's CAST(... AS CHAR) over the range.
 */
export function mysqlDoubleText(value: number): string {
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const sign = value < 0 ? '-' : '';
  const [mantissa, exponentText] = Math.abs(value).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const exponent = Number(exponentText);
  const pointAt = exponent + 1;
  if ((exponent >= -15 && exponent <= 14) || (exponent > 14 && digits.length > pointAt)) {
    let text: string;
    if (pointAt <= 0) text = '0.' + '0'.repeat(-pointAt) + digits;
    else if (pointAt >= digits.length) text = digits + '0'.repeat(pointAt - digits.length) + '.0';
    else text = digits.slice(0, pointAt) + '.' + digits.slice(pointAt);
    return sign + text;
  }
  return sign + (digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits) + 'e' + exponent;
}

function opaqueText(fieldType: number, data: Buffer): string {
  switch (fieldType) {
    case FIELD_NEWDECIMAL:
      return decimalText(data.subarray(2), data[0]!, data[1]!);
    case FIELD_DATE:
    case FIELD_DATETIME:
    case FIELD_TIMESTAMP:
      return quote(packedDatetimeText(data.readBigInt64LE(0), fieldType === FIELD_DATE));
    case FIELD_TIME:
      return quote(packedTimeText(data.readBigInt64LE(0)));
    default:
      // MySQL's base64_encode breaks its output into lines of 76 characters.
      return quote(`base64:type${fieldType}:` + (data.toString('base64').match(/.{1,76}/g) ?? []).join('\n'));
  }
}

const pad = (value: bigint | number, width: number): string => String(value).padStart(width, '0');
const FRACTION_BITS = 24n;

/** MySQL's packed DATETIME (my_time.cc TIME_from_longlong_datetime_packed), printed with six fraction digits as MySQL prints JSON datetimes. */
function packedDatetimeText(packed: bigint, dateOnly: boolean): string {
  const negative = packed < 0n;
  const value = negative ? -packed : packed;
  const fraction = value & ((1n << FRACTION_BITS) - 1n);
  const ymdhms = value >> FRACTION_BITS;
  const ymd = ymdhms >> 17n;
  const hms = ymdhms & ((1n << 17n) - 1n);
  const yearMonth = ymd >> 5n;
  const date = `${negative ? '-' : ''}${pad(yearMonth / 13n, 4)}-${pad(yearMonth % 13n, 2)}-${pad(ymd & 31n, 2)}`;
  if (dateOnly) return date;
  return `${date} ${pad(hms >> 12n, 2)}:${pad((hms >> 6n) & 63n, 2)}:${pad(hms & 63n, 2)}.${pad(fraction, 6)}`;
}

/** MySQL's packed TIME (TIME_from_longlong_time_packed). */
function packedTimeText(packed: bigint): string {
  const negative = packed < 0n;
  const value = negative ? -packed : packed;
  const fraction = value & ((1n << FRACTION_BITS) - 1n);
  const hms = value >> FRACTION_BITS;
  return `${negative ? '-' : ''}${pad((hms >> 12n) & 1023n, 2)}:${pad((hms >> 6n) & 63n, 2)}:${pad(hms & 63n, 2)}.${pad(fraction, 6)}`;
}

const DIGITS_PER_WORD = 9;
const BYTES_FOR_DIGITS = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

/** MySQL's binary DECIMAL (strings/decimal.cc bin2decimal), as its text with the full scale. */
export function decimalText(bytes: Buffer, precision: number, scale: number): string {
  const integerDigits = precision - scale;
  const negative = (bytes[0]! & 0x80) === 0;
  const data = Buffer.from(bytes);
  data[0] = data[0]! ^ 0x80;
  if (negative) for (let index = 0; index < data.length; index++) data[index] = data[index]! ^ 0xff;
  let at = 0;
  const group = (digits: number): string => {
    if (digits === 0) return '';
    const size = BYTES_FOR_DIGITS[digits]!;
    const value = size === 0 ? 0 : data.readUIntBE(at, size);
    at += size;
    return pad(value, digits);
  };
  let whole = group(integerDigits % DIGITS_PER_WORD);
  for (let word = 0; word < Math.floor(integerDigits / DIGITS_PER_WORD); word++) whole += group(DIGITS_PER_WORD);
  let fraction = '';
  for (let word = 0; word < Math.floor(scale / DIGITS_PER_WORD); word++) fraction += group(DIGITS_PER_WORD);
  fraction += group(scale % DIGITS_PER_WORD);
  whole = whole.replace(/^0+(?=\d)/, '') || '0';
  return (negative ? '-' : '') + whole + (scale > 0 ? '.' + fraction : '');
}
