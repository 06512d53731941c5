// Shared by the tests of snapshots taken while streaming (snapshot-later.test.ts,
// snapshot-request.test.ts): a table's current-state view against the source, the marker a read
// again starts with, and a wait for a checkpoint with the snapshot done.
import assert from 'node:assert/strict';
import type mysql from 'mysql2/promise';
import type { MariaDbServer } from '../servers/mariadb.ts';
import { gtidBinlogPos, until, waitForCheckpoint, type DaemonWorkspace, type RunningDaemon } from './daemon.ts';
import { runQueryCli } from './query-cli.ts';
import { snapshotDone, snapshotState } from './snapshot-check.ts';

export const TABLE = '(id INT PRIMARY KEY, v VARCHAR(20))';

export function rowsSql(table: string, count: number, prefix: string): string {
  return `INSERT INTO ${table} VALUES ${Array.from({ length: count }, (_, n) => `(${n + 1}, '${prefix}${n + 1}')`).join(', ')}`;
}

/** The current-state view of a Hive table against the source table, row by row. */
export async function assertCurrentIsSource(workspace: DaemonWorkspace, server: MariaDbServer, db: mysql.Connection, hiveDb: string, table: string, sourceTable: string): Promise<void> {
  const current = await runQueryCli(workspace, server, `SELECT id, v FROM ${hiveDb}.${table}_current ORDER BY id`, {}, ['--key', 'id']);
  const [source] = await db.query<mysql.RowDataPacket[]>(`SELECT id, v FROM ${sourceTable} ORDER BY id`);
  assert.deepEqual(
    current.map((row) => `${row.id}=${row.v}`),
    source.map((row) => `${String(row.id)}=${String(row.v)}`),
    `${hiveDb}.${table}: the current state is the source's ${sourceTable}`,
  );
}

/**
 * One truncate marker, every read row after it, no key read twice. (The sink leaves out a marker
 * for a Hive table that does not exist yet: it has no rows to cover. `markers: 0` for such a table.)
 */
export function assertReadAfterOneMarker(changes: string[], table: string, markerCount = 1): void {
  const markers = changes.flatMap((line, index) => (line.startsWith('truncate ') ? [index] : []));
  assert.equal(markers.length, markerCount, `${table}: ${markerCount} truncate marker(s): ${changes.join(' | ')}`);
  const reads = changes.flatMap((line, index) => (line.startsWith('read ') ? [index] : []));
  assert.ok(reads.length > 0 && reads[0]! > (markers[0] ?? -1), `${table}: rows read, after the marker: ${changes.join(' | ')}`);
  const keys = reads.map((index) => changes[index]!.split(' ')[1]);
  assert.equal(new Set(keys).size, keys.length, `${table}: no key read twice`);
}

/** Waits until a checkpoint covers the server's position and records the snapshot done. */
export async function settled(workspace: DaemonWorkspace, server: MariaDbServer, daemon: RunningDaemon): Promise<void> {
  await until('the snapshot is done', daemon, async () => snapshotDone(await snapshotState(workspace)) || undefined);
  await waitForCheckpoint(workspace, await gtidBinlogPos(server), 60_000, daemon);
  await until('the snapshot is done at the end', daemon, async () => snapshotDone(await snapshotState(workspace)) || undefined);
}
