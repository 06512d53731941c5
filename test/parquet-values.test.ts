// The Parquet writer's parsers (src/sinks/parquet-values.ts) take the common decimal and timestamp
// text by a fast path without RegExp matches or substrings, and everything else by the general one.
// Both must give the exact value: checked here against values computed another way (BigInt digit
// strings, Date.UTC), on each side of the fast path's limits, and for text only the general path takes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decimalParser, timestampParser } from '../src/sinks/parquet-values.ts';

/** The unscaled value of decimal text at a scale, from its digits as a string: no arithmetic shared with the parser. */
function unscaledOf(text: string, scale: number): bigint {
  const negative = text.startsWith('-');
  const [whole = '', fraction = ''] = text.replace(/^[-+]/, '').split('.');
  const digits = BigInt((whole === '' ? '0' : whole) + fraction.slice(0, scale).padEnd(scale, '0'));
  return negative ? -digits : digits;
}

test('decimals: the exact unscaled value on both paths, and the same refusals', () => {
  const cases: [number, number, string[]][] = [
    // 15 digits at the scale: the fast path's largest.
    [12, 2, ['0', '-0', '-0.00', '1', '1.5', '-1.05', '0.01', '9999999999.99', '-9999999999.99', '00012.50', '+3.25', '.5', '7.', '12.500']],
    [15, 0, ['999999999999999', '-999999999999999', '123456789012345']],
    // Past 15 digits: the general path.
    [18, 4, ['99999999999999.9999', '-12345678901234.5678', '1.0001']],
    [38, 10, ['9999999999999999999999999999.9999999999', '-0.0000000001', '12345678901234567890.123456789']],
  ];
  for (const [precision, scale, texts] of cases) {
    const parse = decimalParser('c', `decimal(${precision},${scale})`, precision, scale);
    for (const text of texts) assert.equal(parse(text), unscaledOf(text, scale), `${text} in decimal(${precision},${scale})`);
  }
  const parse = decimalParser('c', 'decimal(12,2)', 12, 2);
  for (const [text, why] of [
    ['10000000000.00', /more than 10 integer digits/],
    ['1.234', /more than 2 fractional digits/],
    ['1e5', /not a decimal number/],
    ['', /not a decimal number/],
    ['-', /not a decimal number/],
    [' 1', /not a decimal number/],
  ] as const) {
    assert.throws(() => parse(text), why, JSON.stringify(text));
  }
});

test('timestamps: the exact microseconds on both paths, and the same refusals', () => {
  const parse = timestampParser('c', 'timestamp');
  const expected = (text: string): bigint => {
    const [date, time] = text.split(/[ T]/) as [string, string];
    const [year, month, day] = date.split('-').map(Number) as [number, number, number];
    const [clock, fraction = ''] = time.split('.');
    const [hour, minute, second] = clock!.split(':').map(Number) as [number, number, number];
    const at = new Date(0);
    at.setUTCFullYear(year, month - 1, day);
    at.setUTCHours(hour, minute, second, 0);
    return BigInt(at.getTime()) * 1000n + BigInt(fraction.padEnd(6, '0').slice(0, 6) || '0');
  };
  const texts = [
    '1970-01-01 00:00:00',
    '1969-12-31 23:59:59.999999',
    '2026-03-08 02:30:00.5',
    '2024-02-29T12:00:00.000001',
    '2255-06-05 12:00:00.123456',
    // Outside 1685..2255: the general path.
    '1600-01-01 00:00:00',
    '2262-04-11 23:47:16.854775',
    '9999-12-31 23:59:59.999999',
    '0001-01-01 00:00:00',
    // Nine fractional digits, the last three zeros: the general path.
    '2026-01-01 00:00:00.123456000',
  ];
  for (const text of texts) assert.equal(parse(text), expected(text), text);
  for (const [text, why] of [
    ['2023-02-29 00:00:00', /not a date between/],
    ['2026-13-01 00:00:00', /not a date between/],
    ['2026-01-01 24:00:00', /not a time of day/],
    ['2026-01-01 00:00:00.1234567', /digits past the microsecond/],
    ['2026-01-01 00:00:00.', /not a timestamp/],
    ['2026-1-01 00:00:00', /not a timestamp/],
    ['2026-01-01 00:00:0a', /not a timestamp/],
  ] as const) {
    assert.throws(() => parse(text), why, text);
  }
});
