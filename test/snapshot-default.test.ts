// snapshot.mode's default is `initial` (docs/snapshot.md): a config that names no snapshot reads
// the existing rows of every captured table on a first start, and a restart from its checkpoint
// reads none again. A checkpoint written by a daemon that streamed without a snapshot (an older
// version, or `never`) takes none either when the key is left out: its tables already hold their
// changes.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { gtidBinlogPos, latestCheckpoint, makeWorkspace, startDaemon, stopDaemon, until, waitForCheckpoint, type DaemonWorkspace } from './helpers/daemon.ts';
import { testMariaDb } from './helpers/servers.ts';
import { snapshotState } from './helpers/snapshot-check.ts';
import { rowsSql, settled, TABLE } from './helpers/snapshot-later.ts';
import { changesOf } from './helpers/stopped-changes.ts';

/** The config as a user writes it, with no snapshot key (the tests' helper names `never`). */
function withoutSnapshotKey(workspace: DaemonWorkspace): void {
  const text = readFileSync(workspace.configFile, 'utf8');
  assert.match(text, /^snapshot:\n {2}mode: never\n/m);
  writeFileSync(workspace.configFile, text.replace(/^snapshot:\n {2}mode: never\n/m, ''));
}

test('no snapshot key: the first start reads the existing rows; a restart from the checkpoint reads none again', { timeout: 120_000 }, async () => {
  const server = await testMariaDb();
  const tag = `sndef${Date.now() % 1_000_000}`;
  const db = await server.rootConnection();
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t ${TABLE}`);
  await db.query(rowsSql(`${tag}.t`, 12, 'v'));
  const workspace = makeWorkspace(server, { start: 'latest', routing: `  include: ['${tag}.*']`, intervalSeconds: 0.2 });
  withoutSnapshotKey(workspace);
  let daemon = startDaemon(workspace, server);
  try {
    await settled(workspace, server, daemon);
    await db.query(`INSERT INTO ${tag}.t VALUES (13, 'v13'); UPDATE ${tag}.t SET v = 'u1' WHERE id = 1`);
    await waitForCheckpoint(workspace, await gtidBinlogPos(server), 60_000, daemon);
    const first = await changesOf(workspace, tag, 't');
    assert.deepEqual(first.filter((line) => line.startsWith('read ')).sort(), Array.from({ length: 12 }, (_, n) => `read ${n + 1} v${n + 1}`).sort(), 'every existing row read once');
    await stopDaemon(daemon);

    await db.query(`DELETE FROM ${tag}.t WHERE id = 2`);
    daemon = startDaemon(workspace, server);
    await waitForCheckpoint(workspace, await gtidBinlogPos(server), 60_000, daemon);
    await settled(workspace, server, daemon);
    const again = await changesOf(workspace, tag, 't');
    assert.deepEqual(again.filter((line) => line.startsWith('read ')).sort(), first.filter((line) => line.startsWith('read ')).sort(), 'the restart reads no row again');
    assert.deepEqual(again.slice(-3), ['insert 13 v13', 'update 1 u1', 'delete 2 v2'], 'and streams on from its checkpoint');
  } finally {
    await stopDaemon(daemon);
    await db.end();
  }
});

test('a checkpoint written without a snapshot, then a start with no snapshot key: no table is read', { timeout: 120_000 }, async () => {
  const server = await testMariaDb();
  const tag = `sndefold${Date.now() % 1_000_000}`;
  const db = await server.rootConnection();
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t ${TABLE}`);
  await db.query(rowsSql(`${tag}.t`, 8, 'v'));
  const workspace = makeWorkspace(server, { start: 'latest', routing: `  include: ['${tag}.*']`, intervalSeconds: 0.2 });
  let daemon = startDaemon(workspace, server);
  try {
    await until('the first checkpoint', daemon, () => latestCheckpoint(workspace));
    await db.query(`INSERT INTO ${tag}.t VALUES (9, 'v9')`);
    await waitForCheckpoint(workspace, await gtidBinlogPos(server), 60_000, daemon);
    assert.equal(await snapshotState(workspace), undefined, 'mode never records no snapshot');
    await stopDaemon(daemon);

    withoutSnapshotKey(workspace);
    await db.query(`INSERT INTO ${tag}.t VALUES (10, 'v10')`);
    daemon = startDaemon(workspace, server);
    await settled(workspace, server, daemon);
    assert.deepEqual((await snapshotState(workspace))?.position.tables, { [`${tag}.t`]: { rows: 0, done: true } }, 'the tables of the checkpoint, listed as done');
    assert.deepEqual(await changesOf(workspace, tag, 't'), ['insert 9 v9', 'insert 10 v10'], 'no existing row is read: only the stream');
  } finally {
    await stopDaemon(daemon);
    await db.end();
  }
});
