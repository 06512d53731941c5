// Whether the server still holds every event after a position, so that resuming there loses nothing.
// The daemon finds out only when the dump fails; `sluice check` and `sluice checkpoint set` ask first.
import type mysql from 'mysql2/promise';
import { SluiceError } from '../../../core/errors.ts';
import { describePosition, type BinlogPosition } from './binlog-position.ts';
import type { ServerFacts } from '../server/preflight.ts';

/** Resolves to a sentence saying why the position is available; throws SLUICE_BINLOG_POSITION_PURGED if it is not. */
export async function requirePositionAvailable(
  connection: mysql.Connection,
  server: string,
  facts: ServerFacts,
  position: BinlogPosition,
): Promise<string> {
  const wanted = describePosition(position);
  // The same choice resolveStart makes: by GTID where the server has GTIDs, else by file and offset.
  if (facts.hasGtid && position.gtidSet !== undefined) {
    return facts.isMariaDb
      ? requireMariadbGtid(connection, server, facts, position.gtidSet, wanted)
      : requireMysqlGtid(connection, server, facts, position.gtidSet, wanted);
  }
  const file = facts.binlogFiles.find((entry) => entry.name === position.file);
  if (!file) throw purged(server, facts, wanted, `binlog file ${position.file} is not in SHOW BINARY LOGS`);
  if (position.offset > file.size) {
    throw purged(server, facts, wanted, `${position.file} is only ${file.size} bytes long, the offset ${position.offset} is past its end`);
  }
  return `${position.file} is on the server (${file.size} bytes)`;
}

async function requireMariadbGtid(connection: mysql.Connection, server: string, facts: ServerFacts, gtidSet: string, wanted: string): Promise<string> {
  const oldest = facts.binlogFiles[0]?.name;
  if (!oldest) throw purged(server, facts, wanted, 'the server lists no binlog files');
  // The GTID position at the start of the oldest binlog: everything up to it has been purged.
  const [rows] = await connection.query('SELECT BINLOG_GTID_POS(?, 4) AS pos', [oldest]);
  const purgedUpTo = (rows as { pos: string | null }[])[0]?.pos;
  if (purgedUpTo === null || purgedUpTo === undefined) return `cannot tell from ${oldest} (BINLOG_GTID_POS is NULL); the daemon will find out`;
  const gap = mariadbGtidGap(gtidSet, purgedUpTo);
  if (gap) throw purged(server, facts, wanted, `the binlog is purged up to GTID ${purgedUpTo} (where ${oldest} starts); ${gap}`);
  return `GTID ${gtidSet} is still in the binlog (oldest file ${oldest} starts after ${purgedUpTo || 'nothing'})`;
}

/**
 * Says which domain's purged history reaches past the position ('0-1-40' purged, '0-1-30' wanted),
 * or undefined when every domain resumes inside the binlog the server still has. MariaDB numbers
 * each domain's transactions in one increasing sequence, so comparing sequence numbers suffices.
 */
export function mariadbGtidGap(position: string, purgedUpTo: string): string | undefined {
  const seqByDomain = new Map<string, bigint>();
  for (const entry of splitGtids(position)) seqByDomain.set(entry.domain, entry.seq);
  for (const entry of splitGtids(purgedUpTo)) {
    const have = seqByDomain.get(entry.domain);
    if (have === undefined && entry.seq > 0n) return `the position has nothing of domain ${entry.domain}, purged up to ${entry.seq}`;
    if (have !== undefined && have < entry.seq) return `the position is at ${have} in domain ${entry.domain}, purged up to ${entry.seq}`;
  }
  return undefined;
}

function splitGtids(list: string): { domain: string; seq: bigint }[] {
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const [domain = '', , seq = '0'] = entry.split('-');
      return { domain, seq: BigInt(seq) };
    });
}

async function requireMysqlGtid(connection: mysql.Connection, server: string, facts: ServerFacts, gtidSet: string, wanted: string): Promise<string> {
  // MySQL keeps what it purged in @@gtid_purged; the position is whole when it contains all of it.
  // What it lacks of that set are the transactions lost to it: named, so the user sees the gap.
  const [rows] = await connection.query(
    'SELECT @@GLOBAL.gtid_purged AS purged, GTID_SUBSET(@@GLOBAL.gtid_purged, ?) AS covered, GTID_SUBTRACT(@@GLOBAL.gtid_purged, ?) AS lost',
    [gtidSet, gtidSet],
  );
  const row = (rows as { purged: string; covered: number; lost: string }[])[0];
  const oneLine = (set: string | undefined) => (set ?? '').replace(/\n/g, '');
  if (row && Number(row.covered) !== 1) {
    throw purged(server, facts, wanted, `it purged the GTIDs ${oneLine(row.purged)} (gtid_purged), of which the position lacks ${oneLine(row.lost)}`);
  }
  return `GTID ${gtidSet} contains everything purged (${oneLine(row?.purged) || 'nothing'})`;
}

function purged(server: string, facts: ServerFacts, wanted: string, why: string): SluiceError {
  const oldest = facts.binlogFiles[0]?.name ?? '(none)';
  return new SluiceError(
    'SLUICE_BINLOG_POSITION_PURGED',
    `${server} no longer has binlog position ${wanted}: ${why}. The oldest binlog file it has is ${oldest}. ` +
      'The changes in between are gone from this server: take a new snapshot of the tables, point sluice at a server that ' +
      'still has them (same GTIDs), or move the checkpoint with `sluice checkpoint set` knowing that the changes before it are skipped. ' +
      'With snapshot.mode: when_needed, sluice takes that snapshot by itself at the next start.',
    { context: { server, position: wanted, oldest } },
  );
}
