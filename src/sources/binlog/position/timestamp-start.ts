// Turns a start timestamp into a position the server can resume from: the found transaction's file
// and offset, and the GTIDs there, so that the stream starts by GTID like every other start and its
// checkpoints record GTIDs (a failover needs them): MariaDB says its GTID position with
// BINLOG_GTID_POS; MySQL has none, so the file's Previous_gtids plus the GTIDs before the offset.
import { formatBinlogTime } from '../../../core/instant.ts';
import { addMysqlGtid, describePosition, type BinlogPosition, type BinlogStart } from './binlog-position.ts';
import { peekBinlog, type PeekTarget } from './binlog-peek.ts';
import { connectMysql } from '../../../core/mysql-connect.ts';
import type { ServerFacts } from '../server/preflight.ts';
import { findFirstTransactionAt, type BinlogReader } from './timestamp-search.ts';

export type TimestampStart =
  | { kind: 'transaction'; position: BinlogPosition; note: string }
  | { kind: 'head'; note: string };

export async function locateTimestamp(
  target: PeekTarget,
  server: string,
  facts: ServerFacts,
  start: Extract<BinlogStart, { kind: 'timestamp' }>,
): Promise<TimestampStart> {
  const found = await findFirstTransactionAt(peekReader(target), server, facts, Math.floor(start.epochMs / 1000), start.at);
  if (found.kind === 'head') {
    const newest = found.lastEventTime === undefined ? '' : ` (the newest was written at ${formatBinlogTime(found.lastEventTime)})`;
    return {
      kind: 'head',
      note: `no transaction in the binlog was written at or after it${newest}, so reading starts at the head of the binlog: changes made from now on`,
    };
  }
  const gtidSet = facts.isMariaDb
    ? await mariadbGtidPositionAt(target, found.file, found.offset)
    : facts.hasGtid
      ? await mysqlGtidSetAt(target, found.file, found.offset)
      : undefined;
  const position: BinlogPosition = { file: found.file, offset: found.offset, ...(gtidSet !== undefined ? { gtidSet } : {}) };
  return {
    kind: 'transaction',
    position,
    note: `the first transaction at or after it was written at ${formatBinlogTime(found.eventTime)}, at ${describePosition(position)}`,
  };
}

function peekReader(target: PeekTarget): BinlogReader {
  return {
    async fileStartTime(file) {
      let time: number | undefined;
      await peekBinlog(target, file, (event) => {
        time = event.timestamp;
        return true;
      });
      return time!;
    },
    scan: (file, visit) => peekBinlog(target, file, visit),
  };
}

/** MySQL's executed GTID set just before the event at file:offset (a group's start); undefined without a Previous_gtids event. */
async function mysqlGtidSetAt(target: PeekTarget, file: string, offset: number): Promise<string | undefined> {
  let gtidSet: string | undefined;
  await peekBinlog(target, file, (event) => {
    if (event.file !== file || event.offset >= offset) return true;
    if (event.gtidSet !== undefined) gtidSet = event.gtidSet;
    else if (event.gtid !== undefined && gtidSet !== undefined) gtidSet = addMysqlGtid(gtidSet, event.gtid);
    return false;
  });
  return gtidSet;
}

/** What MariaDB says the GTID position is just before the event at file:offset; undefined if it cannot tell. */
async function mariadbGtidPositionAt(target: PeekTarget, file: string, offset: number): Promise<string | undefined> {
  const control = await connectMysql(target.connection);
  try {
    const [rows] = await control.query('SELECT BINLOG_GTID_POS(?, ?) AS pos', [file, offset]);
    const position = (rows as { pos: string | null }[])[0]?.pos;
    return position ?? undefined;
  } finally {
    await control.end().catch(() => undefined);
  }
}
