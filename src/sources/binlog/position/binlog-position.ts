// Resume points of the binlog stream, always at a transaction boundary.
import { GtidSet } from '@vlasky/zongji';

export interface BinlogPosition {
  /** Binlog file to resume in. */
  file: string;
  /** Offset just past the last committed transaction (or DDL) in that file. */
  offset: number;
  /** The executed GTID set/position after that transaction, when the server has GTIDs. */
  gtidSet?: string;
}

/** The binlog's state in a checkpoint record (its `sources.binlog`). */
export interface BinlogSourceState {
  kind: 'binlog';
  position: BinlogPosition;
  /** The sequence number the first change after `position` gets. */
  nextSequence: string;
}

export type BinlogStart =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'file'; file: string; offset: number }
  | { kind: 'gtid'; gtidSet: string }
  /** The first transaction whose binlog time is at or after `at` (as the user wrote it; `epochMs` parsed). */
  | { kind: 'timestamp'; at: string; epochMs: number };

export function describePosition(position: BinlogPosition): string {
  const filePart = `${position.file}:${position.offset}`;
  return position.gtidSet ? `${filePart} (GTID ${position.gtidSet})` : filePart;
}

export function describeStart(start: BinlogStart): string {
  switch (start.kind) {
    case 'earliest':
    case 'latest':
      return start.kind;
    case 'file':
      return `${start.file}:${start.offset}`;
    case 'gtid':
      return `GTID ${start.gtidSet === '' ? '(the whole binlog)' : start.gtidSet}`;
    case 'timestamp':
      return `timestamp ${start.at}`;
  }
}

/** Adds one MySQL GTID ('uuid:42') to a GTID set ('uuid:1-41,uuid2:1-7'). */
export function addMysqlGtid(set: string, gtid: string): string {
  const gtids = GtidSet.parse(set);
  gtids.add(gtid);
  return gtids.toString();
}

/**
 * Folds one MariaDB GTID ('domain-server-seq') into a GTID position ('0-1-5,1-2-9'), replacing that
 * domain's entry. Needed after a DDL statement: zongji extends its set only at a commit marker, and a
 * DDL has none, so without this a checkpoint right after a DDL would replay it.
 */
export function advanceMariadbGtidPosition(position: string | undefined, gtid: string): string {
  const domain = gtid.split('-')[0];
  const entries = (position ?? '').split(',').filter((entry) => entry !== '' && entry.split('-')[0] !== domain);
  entries.push(gtid);
  return entries.sort((a, b) => Number(a.split('-')[0]) - Number(b.split('-')[0])).join(',');
}
