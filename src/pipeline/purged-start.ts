// `snapshot.mode: when_needed` (docs/snapshot.md): when the server has purged the binlog the
// checkpoint resumes from, the stream starts at the binlog's end instead of stopping, and every
// captured table is read again after a truncate marker, so the lost stretch is made up by the rows
// as they stand. The numbering goes on above every number a record has handed out, so that the new
// rows sort after whatever the changelog already holds. Without this mode the purge stays the error
// it was (SLUICE_BINLOG_POSITION_PURGED).
import type { CheckpointRecord, TableProgress } from '../core/checkpoint-record.ts';
import { isSluiceError, type SluiceError } from '../core/errors.ts';
import type { BinlogSourceState } from '../sources/binlog/position/binlog-position.ts';
import { resolveStart, type ResolvedStart } from '../sources/binlog/position/resolve-start.ts';
import type { ServerFacts } from '../sources/binlog/server/preflight.ts';
import { BINLOG } from './binlog-to-hive-record.ts';

/** The purge error when `check` (the start's availability) fails with one; other errors go through. */
export async function purgedError(check: () => Promise<unknown>): Promise<SluiceError | undefined> {
  try {
    await check();
    return undefined;
  } catch (error) {
    if (isSluiceError(error, 'SLUICE_BINLOG_POSITION_PURGED')) return error;
    throw error;
  }
}

/** The binlog's end, numbered on from the highest sequence number the record knows. */
export function startAtEndAfterPurge(server: string, facts: ServerFacts, record: CheckpointRecord, purged: SluiceError): ResolvedStart {
  const end = resolveStart(server, facts, undefined, { kind: 'latest' });
  return { ...end, nextSequence: highestSequence(record), description: `the binlog's end, snapshot.mode when_needed (${purged.message.slice(0, 200)})` };
}

function highestSequence(record: CheckpointRecord): bigint {
  const states: (BinlogSourceState | undefined)[] = [record.sources[BINLOG] as BinlogSourceState | undefined];
  const tables = record.tables as TableProgress<BinlogSourceState> | undefined;
  states.push(tables?.ahead?.others, ...Object.values(tables?.ahead?.tables ?? {}));
  return states.reduce((highest, state) => (state && BigInt(state.nextSequence) > highest ? BigInt(state.nextSequence) : highest), 1n);
}
