// How N channels divide a table between them so that every row belongs to exactly one channel, and
// how a channel says "after the last key I copied" in SQL.
//
// An integer key splits by remainder (ABS because MOD keeps the sign of a negative key, which would
// put negative keys in no channel). A temporal key splits into N ranges between its min and max; the
// boundaries are fixed when the job starts and recorded, so a resumed job reads the same ranges even
// if the table has changed since.
import mysql from 'mysql2/promise';
import { SluiceError } from '../../core/errors.ts';
import type { KeyColumn } from './table-shape.ts';

export type ChannelSplit = { kind: 'modulo'; channels: number } | { kind: 'range'; channels: number; boundaries: string[] };

export function channelPredicate(split: ChannelSplit, keySql: string, key: KeyColumn, channel: number): string {
  if (split.channels === 1) return 'TRUE';
  if (split.kind === 'modulo') return `ABS(MOD(${keySql}, ${split.channels})) = ${channel}`;
  const lower = channel === 0 ? undefined : split.boundaries[channel - 1];
  const upper = channel === split.channels - 1 ? undefined : split.boundaries[channel];
  const parts: string[] = [];
  if (lower !== undefined) parts.push(`${keySql} >= ${keyLiteral(key, lower)}`);
  if (upper !== undefined) parts.push(`${keySql} < ${keyLiteral(key, upper)}`);
  return parts.length === 0 ? 'TRUE' : parts.join(' AND ');
}

/**
 * A key value as SQL. Integers are inlined as digits: a string compared with a BIGINT column is
 * compared as a double, which is wrong past 2^53.
 */
export function keyLiteral(key: KeyColumn, value: string): string {
  if (key.kind === 'integer') {
    if (!/^-?\d+$/.test(value)) throw new SluiceError('SLUICE_SYNC_SOURCE', `key ${key.name}: '${value}' is not an integer`, { context: { configKey: 'source.key' } });
    return value;
  }
  return mysql.escape(value);
}

const MICROS_PER_DAY = 86_400_000_000n;

/** N-1 inner boundaries between `min` and `max` of a DATE, DATETIME or TIMESTAMP key (as MySQL prints them). */
export function temporalBoundaries(key: KeyColumn, min: string, max: string, channels: number): string[] {
  const low = toMicros(min);
  const high = toMicros(max);
  const boundaries: string[] = [];
  for (let index = 1; index < channels; index++) {
    const at = low + ((high - low) * BigInt(index)) / BigInt(channels);
    const text = key.dataType === 'date' ? fromMicros(at - (at % MICROS_PER_DAY)).slice(0, 10) : fromMicros(at);
    // Equal boundaries (a range narrower than N days of DATE keys) would leave a channel empty, which is harmless.
    boundaries.push(text);
  }
  return boundaries;
}

// Keys are compared as MySQL compares them, as calendar values with no zone: plain UTC arithmetic is
// exactly that. The zero date sorts first, so it is taken as the first day there is.
function toMicros(text: string): bigint {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?$/.exec(text);
  if (!match) throw new SluiceError('SLUICE_SYNC_SOURCE', `cannot read '${text}' as a date or datetime key`, { context: { configKey: 'source.key' } });
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = ''] = match;
  const year = Math.max(1, Number(y));
  const month = Math.max(1, Number(mo));
  const day = Math.max(1, Number(d));
  const millis = Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s));
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear puts them back.
  const date = new Date(millis);
  date.setUTCFullYear(year);
  return BigInt(date.getTime()) * 1000n + BigInt(frac.padEnd(6, '0') || '0');
}

function fromMicros(micros: bigint): string {
  const millis = micros / 1000n;
  const rest = micros % 1000n;
  const date = new Date(Number(millis));
  const pad = (value: number, width = 2): string => String(value).padStart(width, '0');
  const fraction = pad(date.getUTCMilliseconds(), 3) + pad(Number(rest), 3);
  return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${fraction}`;
}
