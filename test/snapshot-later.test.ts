// Snapshots while streaming (docs/snapshot.md, "Tables that come later"): a table that comes into
// the routing with rows the changelog never saw inserted (RENAME TABLE into a captured name, an
// online schema change tool's swap) is read while the stream goes on, after a truncate marker,
// instead of stopping; a table created empty in the stream is not read (its rows come as inserts);
// a table a new include rule captures is read on the next start. Each ends with its current-state
// view (sluice query --key id) equal to the source table.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import type mysql from 'mysql2/promise';
import { gtidBinlogPos, latestCheckpoint, makeWorkspace, startDaemon, stopDaemon, until, waitForCheckpoint, type DaemonWorkspace, type RunningDaemon } from './helpers/daemon.ts';
import { runQueryCli } from './helpers/query-cli.ts';
import { testMariaDb } from './helpers/servers.ts';
import type { MariaDbServer } from './servers/mariadb.ts';
import { snapshotDone, snapshotState } from './helpers/snapshot-check.ts';
import { changesOf } from './helpers/stopped-changes.ts';

const TABLE = '(id INT PRIMARY KEY, v VARCHAR(20))';

function rowsSql(table: string, count: number, prefix: string): string {
  return `INSERT INTO ${table} VALUES ${Array.from({ length: count }, (_, n) => `(${n + 1}, '${prefix}${n + 1}')`).join(', ')}`;
}

/** The current-state view of a Hive table against the source table, row by row. */
async function assertCurrentIsSource(workspace: DaemonWorkspace, server: MariaDbServer, db: mysql.Connection, hiveDb: string, table: string, sourceTable: string): Promise<void> {
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
function assertReadAfterOneMarker(changes: string[], table: string, markerCount = 1): void {
  const markers = changes.flatMap((line, index) => (line.startsWith('truncate ') ? [index] : []));
  assert.equal(markers.length, markerCount, `${table}: ${markerCount} truncate marker(s): ${changes.join(' | ')}`);
  const reads = changes.flatMap((line, index) => (line.startsWith('read ') ? [index] : []));
  assert.ok(reads.length > 0 && reads[0]! > (markers[0] ?? -1), `${table}: rows read, after the marker: ${changes.join(' | ')}`);
  const keys = reads.map((index) => changes[index]!.split(' ')[1]);
  assert.equal(new Set(keys).size, keys.length, `${table}: no key read twice`);
}

/** Waits until a checkpoint covers the server's position and records the snapshot done. */
async function settled(workspace: DaemonWorkspace, server: MariaDbServer, daemon: RunningDaemon): Promise<void> {
  await until('the snapshot is done', daemon, async () => snapshotDone(await snapshotState(workspace)) || undefined);
  await waitForCheckpoint(workspace, await gtidBinlogPos(server), 60_000, daemon);
  await until('the snapshot is done at the end', daemon, async () => snapshotDone(await snapshotState(workspace)) || undefined);
}

test('tables that come later: renamed in -> read after a marker and streamed on; created empty -> streamed only; a new rule -> read on the next start', { timeout: 180_000 }, async () => {
  const server = await testMariaDb();
  const tag = `snl${Date.now() % 1_000_000}`;
  const free = `${tag}_free`;
  const extra = `${tag}_extra`;
  const db = await server.rootConnection();
  await db.query(`CREATE DATABASE ${tag}; CREATE DATABASE ${free}; CREATE DATABASE ${extra}`);
  await db.query(`CREATE TABLE ${tag}.a ${TABLE}; CREATE TABLE ${tag}.swap ${TABLE}; CREATE TABLE ${free}.x ${TABLE}; CREATE TABLE ${free}.y ${TABLE}; CREATE TABLE ${extra}.e ${TABLE}`);
  await db.query(`${rowsSql(`${tag}.a`, 20, 'a')}; ${rowsSql(`${tag}.swap`, 10, 'old')}; ${rowsSql(`${free}.x`, 25, 'x')}; ${rowsSql(`${free}.y`, 15, 'y')}; ${rowsSql(`${extra}.e`, 40, 'e')}`);
  const routing = `  include: ['${tag}.*']`;
  const workspace = makeWorkspace(server, { start: 'latest', routing, intervalSeconds: 0.2, extra: 'snapshot:\n  mode: initial\n  chunkRows: 7\n' });

  let daemon = startDaemon(workspace, server);
  try {
    await settled(workspace, server, daemon);
    // Rows that reach the binlog as no inserts: without a snapshot these tables stop (rows-moved.test.ts).
    await db.query(`RENAME TABLE ${free}.x TO ${tag}.came`);
    await db.query(`UPDATE ${tag}.came SET v = 'came-upd' WHERE id = 3; DELETE FROM ${tag}.came WHERE id = 4; INSERT INTO ${tag}.came VALUES (100, 'came-new')`);
    // An online schema change tool's swap: the old rows leave, others come.
    await db.query(`RENAME TABLE ${tag}.swap TO ${free}.swap_old, ${free}.y TO ${tag}.swap`);
    await db.query(`UPDATE ${tag}.swap SET v = 'swap-upd' WHERE id = 2; DELETE FROM ${tag}.swap WHERE id = 14`);
    // Created empty: its rows come as inserts, nothing to read.
    await db.query(`CREATE TABLE ${tag}.fresh ${TABLE}; INSERT INTO ${tag}.fresh VALUES (1, 'f1'), (2, 'f2'); UPDATE ${tag}.fresh SET v = 'f2u' WHERE id = 2`);
    await db.query(`UPDATE ${tag}.a SET v = 'a-upd' WHERE id = 5`);
    await settled(workspace, server, daemon);

    const record = await latestCheckpoint(workspace);
    assert.equal(record?.tables?.stopped, undefined, `no table stopped: ${JSON.stringify(record?.tables)}`);
    for (const table of ['a', 'came', 'swap', 'fresh']) await assertCurrentIsSource(workspace, server, db, tag, table, `${tag}.${table}`);
    assertReadAfterOneMarker(await changesOf(workspace, tag, 'came'), 'came');
    const swap = await changesOf(workspace, tag, 'swap');
    assert.deepEqual(swap.slice(0, 10), Array.from({ length: 10 }, (_, n) => `read ${n + 1} old${n + 1}`), 'the swapped-out rows, read by the first snapshot');
    assertReadAfterOneMarker(swap.slice(10), 'swap');
    assert.deepEqual(await changesOf(workspace, tag, 'fresh'), ['insert 1 f1', 'insert 2 f2', 'update 2 f2u'], 'a table created empty is streamed, not read');
    assert.equal((await changesOf(workspace, tag, 'a')).filter((line) => line.startsWith('read ')).length, 20, 'a table read before is not read again');

    // A new include rule: the table it captures is read on the next start, the others are not.
    await stopDaemon(daemon);
    await db.query(`UPDATE ${extra}.e SET v = 'e-upd' WHERE id = 7`);
    writeFileSync(workspace.configFile, readFileSync(workspace.configFile, 'utf8').replace(routing, `  include: ['${tag}.*', '${extra}.*']`));
    daemon = startDaemon(workspace, server);
    await until('the new table is listed', daemon, async () => ((await snapshotState(workspace))?.position.tables[`${extra}.e`] ? true : undefined));
    await db.query(`DELETE FROM ${extra}.e WHERE id = 8; INSERT INTO ${extra}.e VALUES (41, 'e41')`);
    await settled(workspace, server, daemon);
    await assertCurrentIsSource(workspace, server, db, extra, 'e', `${extra}.e`);
    // Its Hive table is made by the first change the stream replays, after the marker: none needed.
    assertReadAfterOneMarker(await changesOf(workspace, extra, 'e'), 'e', 0);
    for (const table of ['a', 'came', 'swap', 'fresh']) await assertCurrentIsSource(workspace, server, db, tag, table, `${tag}.${table}`);
    assert.equal((await changesOf(workspace, tag, 'a')).filter((line) => line.startsWith('read ')).length, 20, 'a table read before is not read again');
  } finally {
    await stopDaemon(daemon);
    await db.end();
  }
});
