// A table without a key that comes into the routing while streaming (docs/snapshot.md, "Tables
// that come later"): the snapshot cannot read it, so that table stops with SLUICE_TABLE_KEY, naming
// it and the fix, and the other tables stream on. Once a key is added, a restart reads it after a
// marker (its read stays due in the record), once, and its current state is the source's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gtidBinlogPos, latestCheckpoint, makeWorkspace, startDaemon, stopDaemon, until, waitForCheckpoint } from './helpers/daemon.ts';
import { testMariaDb } from './helpers/servers.ts';
import { assertCurrentIsSource, assertReadAfterOneMarker, rowsSql, settled, TABLE } from './helpers/snapshot-later.ts';
import { changesOf } from './helpers/stopped-changes.ts';

test('a keyless table renamed into the routing stops only that table, naming the fix; with a key added it is read', { timeout: 180_000 }, async () => {
  const server = await testMariaDb();
  const tag = `snk${Date.now() % 1_000_000}`;
  const db = await server.rootConnection();
  await db.query(`CREATE DATABASE ${tag}; CREATE DATABASE ${tag}_free; CREATE TABLE ${tag}.a ${TABLE}; CREATE TABLE ${tag}_free.heap (id INT NOT NULL, v VARCHAR(20))`);
  await db.query(`${rowsSql(`${tag}.a`, 10, 'a')}; ${rowsSql(`${tag}_free.heap`, 12, 'h')}`);
  const workspace = makeWorkspace(server, { start: 'latest', routing: `  include: ['${tag}.*']`, intervalSeconds: 0.2, extra: 'snapshot:\n  mode: initial\n  chunkRows: 7\n' });
  let daemon = startDaemon(workspace, server);
  try {
    await settled(workspace, server, daemon);
    await db.query(`RENAME TABLE ${tag}_free.heap TO ${tag}.heap`);
    await db.query(`INSERT INTO ${tag}.a VALUES (11, 'a11')`);
    const stopped = await until('the keyless table stops', daemon, async () => (await latestCheckpoint(workspace))?.tables?.stopped?.[`${tag}.heap`]);
    assert.equal(stopped.code, 'SLUICE_TABLE_KEY');
    assert.match(stopped.message, new RegExp(`the snapshot cannot read ${tag}\\.heap, .*has no primary key or unique index.*The table is stopped; the other tables go on\\. Fix: add a primary key or a unique index over NOT NULL columns to ${tag}\\.heap .*then restart sluice`));
    // The others go on.
    await db.query(`UPDATE ${tag}.a SET v = 'a-upd' WHERE id = 2; INSERT INTO ${tag}.heap VALUES (13, 'h13')`);
    await waitForCheckpoint(workspace, await gtidBinlogPos(server), 60_000, daemon);
    assert.equal(daemon.child.exitCode, null, 'the daemon runs on');
    assert.deepEqual(Object.keys((await latestCheckpoint(workspace))?.tables?.stopped ?? {}), [`${tag}.heap`], 'only the keyless table is stopped');
    assert.deepEqual((await changesOf(workspace, tag, 'a')).slice(-2), ['insert 11 a11', 'update 2 a-upd'], 'the other table streams on');

    await stopDaemon(daemon);
    await db.query(`ALTER TABLE ${tag}.heap ADD PRIMARY KEY (id)`);
    daemon = startDaemon(workspace, server);
    await until('the table is read and no table is stopped', daemon, async () => ((await latestCheckpoint(workspace))?.tables?.stopped === undefined ? true : undefined));
    await db.query(`DELETE FROM ${tag}.heap WHERE id = 3`);
    await settled(workspace, server, daemon);
    assert.equal((await latestCheckpoint(workspace))?.tables?.stopped, undefined, 'no table stopped');
    for (const table of ['a', 'heap']) await assertCurrentIsSource(workspace, server, db, tag, table, `${tag}.${table}`);
    assertReadAfterOneMarker(await changesOf(workspace, tag, 'heap'), 'heap', true);
  } finally {
    await stopDaemon(daemon);
    await db.end();
  }
});
