// Debezium's signal table (`snapshot.signalTable`, docs/snapshot.md): an `execute-snapshot` row
// inserted into the source's signal table reads the tables it names again while the stream goes on,
// as `sluice snapshot` does: after a truncate marker, under writes, the current-state view equals the
// source (also where the changelog drifted from it), the other table is not read again. An invalid
// signal is logged with its id and reason and skipped; the stream goes on. Killed with SIGKILL right
// after the signal and the instant a record holding it lands: the request is not lost, one marker.
// The snapshot's figures on /metrics once a table is done.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type mysql from 'mysql2/promise';
import { killWhenRecordLands } from './helpers/crash-scenario.ts';
import { exitWithin, fatalLine, makeWorkspace, metricsPort, startDaemon, stopDaemon, until } from './helpers/daemon.ts';
import { testMariaDb } from './helpers/servers.ts';
import { snapshotState } from './helpers/snapshot-check.ts';
import { assertCurrentIsSource, assertReadAfterOneMarker, driftFromChangelog, RandomWriter, rowsSql, settled, TABLE } from './helpers/snapshot-later.ts';
import { changesOf } from './helpers/stopped-changes.ts';

const SIGNALS = '(id VARCHAR(42) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048) NULL)';

async function signal(db: mysql.Connection, tag: string, id: string, type: string, data: string): Promise<void> {
  await db.query(`INSERT INTO ${tag}.signals VALUES (?, ?, ?)`, [id, type, data]);
}

async function fixture(rows: { t: number; u: number }) {
  const server = await testMariaDb();
  const tag = `sns${Date.now() % 1_000_000}`;
  const db = await server.rootConnection();
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t ${TABLE}; CREATE TABLE ${tag}.u ${TABLE}; CREATE TABLE ${tag}.signals ${SIGNALS}`);
  await db.query(`${rowsSql(`${tag}.t`, rows.t, 't')}; ${rowsSql(`${tag}.u`, rows.u, 'u')}`);
  const workspace = makeWorkspace(server, {
    start: 'latest',
    routing: `  include: ['${tag}.*']`,
    intervalSeconds: 0.2,
    extra: `snapshot:\n  mode: initial\n  chunkRows: 5\n  signalTable: ${tag}.signals\n`,
  });
  return { server, tag, db, workspace };
}

test('an execute-snapshot signal reads the table again after a marker, under writes; invalid signals are logged and skipped', { timeout: 180_000 }, async () => {
  const { server, tag, db, workspace } = await fixture({ t: 40, u: 30 });
  const writerDb = await server.rootConnection();
  const writer = new RandomWriter(writerDb);
  const daemon = startDaemon(workspace, server);
  try {
    await settled(workspace, server, daemon);
    await driftFromChangelog(server, `${tag}.u`);
    writer.start([`${tag}.t`, `${tag}.u`]);
    await signal(db, tag, 'bad-json', 'execute-snapshot', '{"data-collections": [');
    await signal(db, tag, 'bad-type', 'pause-snapshot', '{}');
    await signal(db, tag, 'bad-table', 'execute-snapshot', `{"data-collections": ["${tag}_nothere.x"]}`);
    await signal(db, tag, 'sig-1', 'execute-snapshot', `{"data-collections": ["${tag}.u"], "type": "incremental"}`);
    await until('the signalled read is done and recorded', daemon, async () => {
      const entry = (await snapshotState(workspace))?.position.tables[`${tag}.u`];
      return entry?.signal === 'sig-1' && entry.done ? true : undefined;
    });
    await writer.stop();
    await settled(workspace, server, daemon);
    for (const table of ['t', 'u']) await assertCurrentIsSource(workspace, server, db, tag, table, `${tag}.${table}`);
    const u = await changesOf(workspace, tag, 'u');
    assertReadAfterOneMarker(u.slice(u.findIndex((line) => !line.startsWith('read '))), 'u, read again for the signal');
    assert.equal((await changesOf(workspace, tag, 't')).filter((line) => line.startsWith('read ')).length, 40, 't is not read again');
    const output = daemon.output();
    assert.match(output, /snapshot signal bad-json: data is not JSON/);
    assert.match(output, /snapshot signal bad-type: type \W*pause-snapshot\W* is not one sluice takes/);
    assert.match(output, new RegExp(`snapshot signal bad-table: ${tag}_nothere\\.x: not a source table the routing captures`));
    assert.match(output, new RegExp(`snapshot: signal sig-1 asks to read ${tag}\\.u again`));
    assert.equal(daemon.child.exitCode, null, 'invalid signals never stop the daemon');
    // The snapshot's figures on /metrics, for t (read once, done): rows, the rows as the total, no rate or time left.
    const metrics = await (await fetch(`http://127.0.0.1:${await metricsPort(daemon)}/metrics`)).text();
    for (const [name, value] of [['sluice_snapshot_rows_total', '40'], ['sluice_snapshot_rows_estimated', '40'], ['sluice_snapshot_rows_per_second', '0'], ['sluice_snapshot_eta_seconds', '0']]) {
      assert.match(metrics, new RegExp(`^${name}\\{source="${tag}\\.t"\\} ${value}$`, 'm'), `${name} of ${tag}.t`);
    }
  } finally {
    await writer.stop().catch(() => undefined);
    await stopDaemon(daemon);
    await writerDb.end();
    await db.end();
  }
});

test('a signal survives SIGKILL: right after the insert, and the instant a record holding it lands', { timeout: 240_000 }, async () => {
  const { server, tag, db, workspace } = await fixture({ t: 20, u: 1500 });
  const writerDb = await server.rootConnection();
  const writer = new RandomWriter(writerDb);
  let daemon = startDaemon(workspace, server);
  const entryOf = async () => (await snapshotState(workspace))?.position.tables[`${tag}.u`];
  try {
    await settled(workspace, server, daemon);
    const initialReads = (await changesOf(workspace, tag, 'u')).length;
    writer.start([`${tag}.t`, `${tag}.u`]);
    // Killed before any record can hold it: the restart meets the signal again in the binlog.
    await signal(db, tag, 'sig-k', 'execute-snapshot', `{"data-collections": ["${tag}.u"]}`);
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    daemon = startDaemon(workspace, server);
    // Killed the instant a record lands that holds the signal's read, not done yet.
    assert.ok(await killWhenRecordLands(workspace, daemon, 60_000, (file) => signalledIn(file, `${tag}.u`, 'sig-k')), 'a record holding the signal landed');
    await daemon.exited;
    const left = await entryOf();
    assert.ok(left?.signal === 'sig-k' && !left.done, `killed with the signal's read under way: ${JSON.stringify(left)}`);
    daemon = startDaemon(workspace, server);
    await until('the signalled read is done', daemon, async () => ((await entryOf())?.done && (await entryOf())?.signal === 'sig-k' ? true : undefined), 120_000);
    await writer.stop();
    await settled(workspace, server, daemon);
    for (const table of ['t', 'u']) await assertCurrentIsSource(workspace, server, db, tag, table, `${tag}.${table}`);
    assertReadAfterOneMarker((await changesOf(workspace, tag, 'u')).slice(initialReads), 'u, read again for the signal across two kills');
  } finally {
    await writer.stop().catch(() => undefined);
    await stopDaemon(daemon);
    await writerDb.end();
    await db.end();
  }
});

/** Whether the record in `file` holds `table`'s read for the signal `id`, not done yet. */
function signalledIn(file: string, table: string, id: string): boolean {
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as { sources?: Record<string, { position?: { tables?: Record<string, { done?: boolean; signal?: string }> } }> };
    const entry = record.sources?.snapshot?.position?.tables?.[table];
    return entry?.signal === id && entry.done !== true;
  } catch {
    return false;
  }
}

test('a signal table the routing does not capture is refused at the start, naming snapshot.signalTable', { timeout: 60_000 }, async () => {
  const server = await testMariaDb();
  const tag = `snsx${Date.now() % 1_000_000}`;
  const workspace = makeWorkspace(server, { start: 'latest', routing: `  include: ['${tag}.*']`, extra: `snapshot:\n  mode: initial\n  signalTable: ${tag}_ops.signals\n` });
  const daemon = startDaemon(workspace, server);
  assert.notEqual(await exitWithin(daemon, 30_000, 'an uncaptured signal table stops the start'), 0);
  const fatal = fatalLine(daemon);
  assert.equal(fatal.code, 'SLUICE_SNAPSHOT', daemon.output().slice(-2000));
  assert.match(fatal.msg, new RegExp(`snapshot\\.signalTable ${tag}_ops\\.signals is not captured by the routing.*add it to routing\\.include`));
});
