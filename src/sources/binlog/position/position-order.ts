// Orders binlog positions, so that the schema history can find the entry valid at a point of the
// stream. MariaDB GTID positions order the same transactions on every server of a replication
// topology, so they are used where both positions have one; otherwise file and offset, which order
// the events of one server's binlog.
import type { BinlogPosition } from './binlog-position.ts';

export interface FilePosition {
  file: string;
  offset: number;
}

/** Binlog files by their sequence number ('mysql-bin.000010' after 'mysql-bin.000009'), then offset. */
export function compareFilePositions(left: FilePosition, right: FilePosition): number {
  if (left.file !== right.file) {
    const leftNumber = /\.(\d+)$/.exec(left.file)?.[1];
    const rightNumber = /\.(\d+)$/.exec(right.file)?.[1];
    if (leftNumber !== undefined && rightNumber !== undefined && leftNumber !== rightNumber) return Number(leftNumber) - Number(rightNumber);
    return left.file < right.file ? -1 : 1;
  }
  return left.offset - right.offset;
}

/** Whether `left` is the same point of the stream as `right` or an earlier one. */
export function isAtOrBefore(left: BinlogPosition, right: BinlogPosition): boolean {
  const byGtid = compareMariadbGtidPositions(left.gtidSet, right.gtidSet);
  if (byGtid !== undefined) return byGtid <= 0;
  return compareFilePositions(left, right) <= 0;
}

export function isSamePosition(left: BinlogPosition, right: BinlogPosition): boolean {
  return isAtOrBefore(left, right) && isAtOrBefore(right, left);
}

/**
 * -1, 0 or 1 when every domain of one position is at or behind the other's ('0-1-5,1-2-3' is before
 * '0-1-7,1-2-3'); undefined when either is missing, is a MySQL GTID set, or the two cross.
 */
function compareMariadbGtidPositions(left: string | undefined, right: string | undefined): number | undefined {
  if (left === undefined || right === undefined || left.includes(':') || right.includes(':')) return undefined;
  const leftSeqs = domainSeqs(left);
  const rightSeqs = domainSeqs(right);
  let before = false;
  let after = false;
  for (const domain of new Set([...leftSeqs.keys(), ...rightSeqs.keys()])) {
    const leftSeq = leftSeqs.get(domain) ?? 0n;
    const rightSeq = rightSeqs.get(domain) ?? 0n;
    if (leftSeq < rightSeq) before = true;
    if (leftSeq > rightSeq) after = true;
  }
  if (before && after) return undefined;
  return before ? -1 : after ? 1 : 0;
}

function domainSeqs(position: string): Map<string, bigint> {
  const seqs = new Map<string, bigint>();
  for (const entry of position.split(',')) {
    const parts = entry.trim().split('-');
    if (parts.length === 3 && /^\d+$/.test(parts[2]!)) seqs.set(parts[0]!, BigInt(parts[2]!));
  }
  return seqs;
}
