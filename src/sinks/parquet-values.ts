// From the exact text sluice carries (CellValue) to the values a Parquet column holds, one parser
// per Hive type. Nothing is rounded: a value the column cannot hold exactly is an error that names
// the column and the value, never a nearby value.
import { SluiceError } from '../core/errors.ts';

/** Turns one non-null cell into the column's physical value (number, bigint, string or bytes). */
export type CellParser = (text: string) => number | bigint | string | Uint8Array | boolean;

const INTEGER = /^[+-]?\d+$/;
const DECIMAL_TEXT = /^([+-])?(\d*)(?:\.(\d*))?$/;
// What JavaScript's Number() reads, minus what it reads too kindly ('', ' 1', '0x10', '1_0').
const FLOAT_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const FLOAT_SPECIAL: Readonly<Record<string, number>> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '+Infinity': Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};
const TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;
const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
const MAX_INT64 = (1n << 63n) - 1n;
const MIN_INT64 = -(1n << 63n);

export function valueError(column: string, hiveType: string, value: string, why: string): SluiceError {
  const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  return new SluiceError(
    'SLUICE_SCHEMA_UNSUPPORTED',
    `column ${column} (${hiveType}) cannot hold ${JSON.stringify(shown)} in a Parquet file: ${why}; nothing is rounded or cut, so the table stops here`,
    { context: { hiveColumn: column, hiveType, value: shown } },
  );
}

export function int32Parser(column: string, hiveType: string, min: number, max: number): CellParser {
  return (text) => {
    if (!INTEGER.test(text)) throw valueError(column, hiveType, text, 'it is not an integer');
    const value = Number(text);
    if (value < min || value > max) throw valueError(column, hiveType, text, `it is outside ${min}..${max}`);
    // Number('-0') is -0, which setInt32 writes as 0 anyway; normalise for the statistics.
    return value === 0 ? 0 : value;
  };
}

export function int64Parser(column: string, hiveType: string): CellParser {
  return (text) => {
    if (!INTEGER.test(text)) throw valueError(column, hiveType, text, 'it is not an integer');
    // BigInt() of a digit string is exact at any size: no trip through a double.
    const value = BigInt(text);
    if (value < MIN_INT64 || value > MAX_INT64) throw valueError(column, hiveType, text, 'it is outside the 64-bit signed range');
    return value;
  };
}

/**
 * Decimal text to its unscaled value at the column's scale: '12.5' in decimal(10,2) is 1250n.
 * Trailing zeros past the scale ('12.500' in decimal(10,2)) are exact and accepted; a non-zero digit
 * past the scale, or more integer digits than precision - scale, is an error.
 */
export function decimalParser(column: string, hiveType: string, precision: number, scale: number): CellParser {
  const limit = 10n ** BigInt(precision);
  const fastLimit = 10 ** precision;
  return (text) => {
    const plain = plainDecimal(text, scale);
    if (plain !== undefined && Math.abs(plain) < fastLimit) return BigInt(plain);
    const match = DECIMAL_TEXT.exec(text);
    if (!match || (match[2] === '' && (match[3] ?? '') === '')) throw valueError(column, hiveType, text, 'it is not a decimal number');
    const [, sign, whole = '', fraction = ''] = match;
    let digits = fraction;
    if (digits.length > scale) {
      if (!/^0*$/.test(digits.slice(scale))) {
        throw valueError(column, hiveType, text, `it has more than ${scale} fractional digit${scale === 1 ? '' : 's'}`);
      }
      digits = digits.slice(0, scale);
    } else if (digits.length < scale) {
      digits = digits.padEnd(scale, '0');
    }
    const unscaled = BigInt((whole === '' ? '0' : whole) + digits);
    if (unscaled >= limit) throw valueError(column, hiveType, text, `it has more than ${precision - scale} integer digit${precision - scale === 1 ? '' : 's'}`);
    return sign === '-' ? -unscaled : unscaled;
  };
}

/**
 * The unscaled value of the common decimal text ('-123.45': an optional minus, digits, and at most
 * `scale` fractional digits after a point), as an exact number when it has at most 15 digits at the
 * column's scale; undefined for anything else, which decimalParser's general path takes (or refuses).
 * No RegExp match, substrings or digit string: this runs for every decimal cell.
 */
function plainDecimal(text: string, scale: number): number | undefined {
  const length = text.length;
  let at = text.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  const negative = at === 1;
  const wholeStart = at;
  let value = 0;
  while (at < length) {
    const digit = text.charCodeAt(at) - 48;
    if (digit < 0 || digit > 9) break;
    value = value * 10 + digit;
    at++;
  }
  const wholeDigits = at - wholeStart;
  if (wholeDigits === 0 || wholeDigits + scale > 15) return undefined;
  let fractionDigits = 0;
  if (at < length) {
    if (text.charCodeAt(at) !== 46 /* . */) return undefined;
    at++;
    while (at < length) {
      const digit = text.charCodeAt(at) - 48;
      if (digit < 0 || digit > 9) return undefined;
      value = value * 10 + digit;
      fractionDigits++;
      at++;
    }
    if (fractionDigits === 0 || fractionDigits > scale) return undefined;
  }
  for (let index = fractionDigits; index < scale; index++) value *= 10;
  // -0 is 0: BigInt(-0) is 0n.
  return negative ? -value : value;
}

export function floatParser(column: string, hiveType: string, single: boolean): CellParser {
  return (text) => {
    let value = FLOAT_SPECIAL[text];
    if (value === undefined) {
      if (!FLOAT_TEXT.test(text)) throw valueError(column, hiveType, text, 'it is not a number');
      value = Number(text);
      if (single) value = Math.fround(value);
      if (!Number.isFinite(value)) throw valueError(column, hiveType, text, `it is beyond the range of a ${single ? '32' : '64'}-bit float`);
    }
    return value;
  };
}

export function booleanParser(column: string, hiveType: string): CellParser {
  return (text) => {
    const lower = text.toLowerCase();
    if (lower === 'true' || lower === '1') return true;
    if (lower === 'false' || lower === '0') return false;
    throw valueError(column, hiveType, text, 'it is not a boolean');
  };
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function checkDate(column: string, hiveType: string, text: string, year: number, month: number, day: number): void {
  // Hive's timestamp and date run from 0001-01-01 to 9999-12-31.
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    throw valueError(column, hiveType, text, 'it is not a date between 0001-01-01 and 9999-12-31');
  }
}

/**
 * 'YYYY-MM-DD hh:mm:ss[.ffffff]' to microseconds since 1970-01-01 00:00:00 of the same wall time,
 * computed in UTC arithmetic: the process time zone never enters. Digits past the microsecond must
 * be zeros (the column holds microseconds).
 */
export function timestampParser(column: string, hiveType: string): CellParser {
  // A changelog has long runs of the same second (_event_time): remember the last one.
  let lastText = '';
  let lastValue = 0n;
  return (text) => {
    if (text === lastText) return lastValue;
    const fast = plainTimestamp(text);
    if (fast !== undefined) {
      lastText = text;
      lastValue = fast;
      return fast;
    }
    const match = TIMESTAMP_TEXT.exec(text);
    if (!match) throw valueError(column, hiveType, text, "it is not a timestamp 'YYYY-MM-DD hh:mm:ss[.ffffff]'");
    const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
    checkDate(column, hiveType, text, year, month, day);
    if (hour > 23 || minute > 59 || second > 59) throw valueError(column, hiveType, text, 'it is not a time of day');
    const fraction = (match[7] ?? '').padEnd(9, '0');
    if (fraction.slice(6) !== '000') throw valueError(column, hiveType, text, 'it has digits past the microsecond');
    const seconds = daysFromCivil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    const value = BigInt(seconds) * 1_000_000n + BigInt(Number(fraction.slice(0, 6)));
    lastText = text;
    lastValue = value;
    return value;
  };
}

const digitAt = (text: string, at: number): number => {
  const digit = text.charCodeAt(at) - 48;
  return digit >= 0 && digit <= 9 ? digit : Number.NaN;
};
const twoDigits = (text: string, at: number): number => digitAt(text, at) * 10 + digitAt(text, at + 1);

/**
 * The microseconds of the common timestamp text, 'YYYY-MM-DD hh:mm:ss' with up to six fractional
 * digits, a valid date and time from 1685 to 2255 (where seconds times a million is exact as a
 * double); undefined for anything else, which timestampParser's general path takes (or
 * refuses with its message). No RegExp match or substrings: this runs for every timestamp cell.
 */
function plainTimestamp(text: string): bigint | undefined {
  const length = text.length;
  if (length < 19 || length === 20 || length > 26) return undefined;
  const separator = text.charCodeAt(10);
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || (separator !== 32 && separator !== 84) || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) {
    return undefined;
  }
  const year = twoDigits(text, 0) * 100 + twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  // NaN (a non-digit) fails every comparison below.
  if (!(year >= 1 && month >= 1 && month <= 12 && day >= 1 && hour <= 23 && minute <= 59 && second <= 59)) return undefined;
  if (day > daysInMonth(year, month)) return undefined;
  let micros = 0;
  if (length > 19) {
    if (text.charCodeAt(19) !== 46) return undefined;
    for (let at = 20; at < 26; at++) {
      const digit = at < length ? digitAt(text, at) : 0;
      if (!(digit >= 0)) return undefined;
      micros = micros * 10 + digit;
    }
  }
  const seconds = daysFromCivil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
  if (Math.abs(seconds) >= 9e9) return undefined;
  return BigInt(seconds * 1_000_000 + micros);
}

/** 'YYYY-MM-DD' to days since 1970-01-01 (Parquet DATE). */
export function dateParser(column: string, hiveType: string): CellParser {
  return (text) => {
    const match = DATE_TEXT.exec(text);
    if (!match) throw valueError(column, hiveType, text, "it is not a date 'YYYY-MM-DD'");
    const [year, month, day] = match.slice(1, 4).map(Number) as [number, number, number];
    checkDate(column, hiveType, text, year, month, day);
    return daysFromCivil(year, month, day);
  };
}

/** Bytes of a FIXED_LEN_BYTE_ARRAY that hold every unscaled value of `precision` digits (two's complement). */
export function decimalByteLength(precision: number): number {
  const largest = 10n ** BigInt(precision) - 1n;
  let bytes = 1;
  while ((1n << BigInt(8 * bytes - 1)) - 1n < largest) bytes++;
  return bytes;
}
