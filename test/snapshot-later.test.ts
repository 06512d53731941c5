// Snapshots while streaming (docs/snapshot.md, "Tables that come later"): a table that comes into
// the routing with rows the changelog never saw inserted (RENAME TABLE into a captured name, an
// online schema change tool's swap) is read while the stream goes on, after a truncate marker,
// instead of stopping; a table created empty in the stream is not read (its rows come as inserts);
// a table a new include rule captures is read on the next start. Each ends with its current-state
// view (sluice query --key id) equal to the source table. A checkpoint written with mode never lists
// its tables as done at the first start with another mode.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { gtidBinlogPos, latestCheckpoint, makeWorkspace, startDaemon, stopDaemon, until, waitForCheckpoint } from './helpers/daemon.ts';
import { testMariaDb } from './helpers/servers.ts';
import { snapshotState } from './helpers/snapshot-check.ts';
import { assertCurrentIsSource, assertReadAfterOneMarker, rowsSql, settled, TABLE } from './helpers/snapshot-later.ts';
import { changesOf } from './helpers/stopped-changes.ts';


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
    // Its first marker may come before any change of it made its Hive table: then it is left out.
    assertReadAfterOneMarker(await changesOf(workspace, tag, 'came'), 'came', true);
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
    // Its Hive table may be made only by the first change the stream replays, after the marker: then none is needed.
    assertReadAfterOneMarker(await changesOf(workspace, extra, 'e'), 'e', true);
    for (const table of ['a', 'came', 'swap', 'fresh']) await assertCurrentIsSource(workspace, server, db, tag, table, `${tag}.${table}`);
    assert.equal((await changesOf(workspace, tag, 'a')).filter((line) => line.startsWith('read ')).length, 20, 'a table read before is not read again');
    // The record listed it as created, so the start does not take it for a new table.
    assert.deepEqual(await changesOf(workspace, tag, 'fresh'), ['insert 1 f1', 'insert 2 f2', 'update 2 f2u'], 'a table created empty is not read at the next start either');
  } finally {
    await stopDaemon(daemon);
    await db.end();
  }
});

test('a checkpoint written with snapshot.mode: never, then another mode: the tables it streamed are not read; a table a later rule captures is', { timeout: 120_000 }, async () => {
  const server = await testMariaDb();
  const tag = `snln${Date.now() % 1_000_000}`;
  const db = await server.rootConnection();
  await db.query(`CREATE DATABASE ${tag}; CREATE DATABASE ${tag}_extra; CREATE TABLE ${tag}.a ${TABLE}; CREATE TABLE ${tag}_extra.e ${TABLE}`);
  await db.query(`${rowsSql(`${tag}.a`, 10, 'a')}; ${rowsSql(`${tag}_extra.e`, 5, 'e')}`);
  const routing = `  include: ['${tag}.*']`;
  const workspace = makeWorkspace(server, { start: 'latest', routing, intervalSeconds: 0.2 });
  const restartWith = async (from: string, to: string): Promise<void> => {
    await stopDaemon(daemon);
    writeFileSync(workspace.configFile, readFileSync(workspace.configFile, 'utf8').replace(from, to));
    daemon = startDaemon(workspace, server);
  };
  let daemon = startDaemon(workspace, server);
  try {
    await until('the first checkpoint', daemon, () => latestCheckpoint(workspace));
    await db.query(`INSERT INTO ${tag}.a VALUES (11, 'a11')`);
    await waitForCheckpoint(workspace, await gtidBinlogPos(server), 60_000, daemon);
    await restartWith('snapshot:\n  mode: never', 'snapshot:\n  mode: initial');
    await db.query(`INSERT INTO ${tag}.a VALUES (12, 'a12')`);
    await settled(workspace, server, daemon);
    assert.deepEqual((await snapshotState(workspace))?.position.tables, { [`${tag}.a`]: { rows: 0, done: true } }, 'the tables of the checkpoint, listed as done');
    await restartWith(routing, `  include: ['${tag}.*', '${tag}_extra.*']`);
    await until('the new table is read', daemon, async () => ((await snapshotState(workspace))?.position.tables[`${tag}_extra.e`]?.done ? true : undefined));
    await settled(workspace, server, daemon);
    assert.deepEqual(await changesOf(workspace, tag, 'a'), ['insert 11 a11', 'insert 12 a12'], 'the table the checkpoint streamed is not read');
    const e = await changesOf(workspace, `${tag}_extra`, 'e');
    assert.equal(e.filter((line) => line.startsWith('read ')).length, 5, `the table a later rule captures is read: ${e.join(' | ')}`);
  } finally {
    await stopDaemon(daemon);
    await db.end();
  }
});
