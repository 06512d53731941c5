// How N channels divide a table between them so that every row belongs to exactly one channel.
//
// A job splits its key into N ranges of nearly equal row counts (readKeyBoundaries): channel i reads
// (boundary[i-1], boundary[i]], the first from the start and the last to the end. The boundaries are
// fixed when the job starts and recorded, so a resumed job reads the same ranges even if the table
// has changed since; rows added later land in whichever range their key falls in.
//
// Records of sluice before key tuples hold one of two older splits, still read as they were so that
// an interrupted copy resumes on the same rows: 'modulo' (an integer key by remainder; ABS because
// MOD keeps the sign of a negative key) and 'range' (a date key in [lower, upper) ranges).
import { SluiceError } from '../../core/errors.ts';
import { quoteIdentifier } from '../../core/mysql-connect.ts';
import { keyLiteral, keyRangeSql, type KeyTuple, type TableKey } from './table-key.ts';

export type ChannelSplit =
  | { kind: 'keys'; channels: number; boundaries: KeyTuple[] }
  | { kind: 'modulo'; channels: number }
  | { kind: 'range'; channels: number; boundaries: string[] };

export function channelPredicate(split: ChannelSplit, key: TableKey, channel: number): string {
  if (split.channels === 1) return 'TRUE';
  if (split.kind === 'keys') {
    // Fewer boundaries than channels - 1 (a table with fewer rows than channels): the channels past
    // the last boundary's range read nothing.
    if (channel > split.boundaries.length) return 'FALSE';
    return keyRangeSql(key, split.boundaries[channel - 1], split.boundaries[channel]);
  }
  const first = key.columns[0]!;
  const keySql = quoteIdentifier(first.name);
  if (split.kind === 'modulo') {
    if (first.kind !== 'integer') throw new SluiceError('SLUICE_SYNC_PRECONDITION', `the recorded split divides ${first.name} by remainder, but ${first.name} is ${first.mysqlType}, not an integer`, { context: { configKey: 'source.key' } });
    return `ABS(MOD(${keySql}, ${split.channels})) = ${channel}`;
  }
  const lower = channel === 0 ? undefined : split.boundaries[channel - 1];
  const upper = channel === split.channels - 1 ? undefined : split.boundaries[channel];
  const parts: string[] = [];
  if (lower !== undefined) parts.push(`${keySql} >= ${keyLiteral(first, lower)}`);
  if (upper !== undefined) parts.push(`${keySql} < ${keyLiteral(first, upper)}`);
  return parts.length === 0 ? 'TRUE' : parts.join(' AND ');
}
