// Finds the first transaction the binlog wrote at or after an instant. Each file's format description
// event carries the time the server began writing it, and every event in earlier files was written
// before that, so a binary search over the files picks the one to scan; the scan then reads event
// headers only until the first transaction that is late enough, or the end of the binlog.
import { SluiceError } from '../../../core/errors.ts';
import { formatBinlogTime } from '../../../core/instant.ts';
import type { PeekedEvent } from './binlog-peek.ts';
import type { ServerFacts } from '../server/preflight.ts';

export interface BinlogReader {
  /** The header time (Unix seconds) of the file's first event: when the server began writing it. */
  fileStartTime(file: string): Promise<number>;
  /** Events from the start of `file` on, until `visit` returns true. */
  scan(file: string, visit: (event: PeekedEvent) => boolean): Promise<void>;
}

export type TimestampHit =
  /** Where the transaction's first event (GTID, or BEGIN without GTIDs) starts, and its time. */
  | { kind: 'transaction'; file: string; offset: number; eventTime: number }
  /** Nothing that late before the head; `lastEventTime` is the newest transaction seen, if any. */
  | { kind: 'head'; lastEventTime: number | undefined };

const GROUP_START_EVENTS = new Set(['mariadbgtid', 'gtid', 'anonymousgtid']);
// Statements that open a transaction or run inside one; any other statement ends its group (COMMIT,
// or a DDL, which is a transaction of its own).
const INNER_STATEMENT = /^\s*(BEGIN|XA\s+START|XA\s+END|SAVEPOINT|ROLLBACK\s+TO)\b/i;

/**
 * The first transaction whose header time, in whole seconds, is at or after `seconds`. The binlog
 * counts whole seconds, so the instant is compared by its second. `wanted` names the instant in errors.
 */
export async function findFirstTransactionAt(reader: BinlogReader, server: string, facts: ServerFacts, seconds: number, wanted: string): Promise<TimestampHit> {
  const files = facts.binlogFiles.map((entry) => entry.name);
  const oldest = files[0];
  if (oldest === undefined) throw new SluiceError('SLUICE_BINLOG_SETTING', `${server} lists no binlog files (SHOW BINARY LOGS)`, { context: { server } });
  const startTimes = new Map<number, Promise<number>>();
  const startTime = (index: number): Promise<number> => {
    let time = startTimes.get(index);
    if (!time) startTimes.set(index, (time = reader.fileStartTime(files[index]!)));
    return time;
  };
  const oldestTime = await startTime(0);
  if (seconds < oldestTime) throw tooOld(server, wanted, oldest, oldestTime);

  // The last file begun before the instant's second (or the oldest, begun in that very second):
  // every file before it was finished before the instant.
  let low = 0;
  let high = files.length - 1;
  for (;;) {
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if ((await startTime(middle)) < seconds) low = middle;
      else high = middle - 1;
    }
    // A file that a session with SET TIMESTAMP began carries the session's time; when that is older
    // than the file before it, it says nothing about the files before it, so look below it.
    if (low === 0 || (await startTime(low - 1)) <= (await startTime(low))) break;
    high = low - 1;
    low = 0;
  }

  // SHOW MASTER STATUS came after SHOW BINARY LOGS, so its file may be one the list lacks; a file
  // neither names was begun after both.
  const headIndex = files.includes(facts.head.file) ? files.indexOf(facts.head.file) : files.length;
  const pastHead = (event: PeekedEvent): boolean => {
    if (event.file === facts.head.file) return event.end >= facts.head.offset;
    const index = files.indexOf(event.file);
    return index === -1 || index > headIndex;
  };
  let hit: TimestampHit | undefined;
  let lastEventTime: number | undefined;
  let inGroup = false;
  await reader.scan(files[low]!, (event) => {
    if (startsGroup(event, inGroup)) {
      if (event.timestamp >= seconds) {
        hit = { kind: 'transaction', file: event.file, offset: event.offset, eventTime: event.timestamp };
        return true;
      }
      lastEventTime = Math.max(lastEventTime ?? event.timestamp, event.timestamp);
    }
    inGroup = staysInGroup(event, inGroup);
    return pastHead(event);
  });
  return hit ?? { kind: 'head', lastEventTime };
}

function startsGroup(event: PeekedEvent, inGroup: boolean): boolean {
  if (GROUP_START_EVENTS.has(event.name)) return true;
  // Without GTIDs a transaction opens with BEGIN, and a DDL statement stands alone.
  return event.name === 'query' && !inGroup;
}

function staysInGroup(event: PeekedEvent, inGroup: boolean): boolean {
  if (GROUP_START_EVENTS.has(event.name)) return true;
  if (event.name === 'query') return INNER_STATEMENT.test(event.statement ?? '');
  // A compressed transaction's payload holds its BEGIN ... COMMIT whole.
  if (event.name === 'xid' || event.name === 'xaprepare' || event.name === 'rotate' || event.name === 'transactionpayload') return false;
  return inGroup;
}

function tooOld(server: string, wanted: string, oldest: string, oldestTime: number): SluiceError {
  const since = formatBinlogTime(oldestTime);
  return new SluiceError(
    'SLUICE_BINLOG_POSITION_PURGED',
    `${server} no longer has the binlog at timestamp ${wanted}: its oldest binlog file ${oldest} begins at ${since}. ` +
      `The changes before that are gone from this server: start at ${since} or later (or at earliest, from ${oldest}) ` +
      'knowing that the changes before it are skipped, or take a new snapshot of the tables.',
    { context: { server, position: `timestamp ${wanted}`, oldest, oldestTime: since } },
  );
}
