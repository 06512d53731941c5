// On-demand snapshots (`sluice snapshot db.table`, docs/snapshot.md): the running daemon reads one
// table again while it streams, under writes to it and to another table, after a truncate marker:
// its current-state view then equals the source table, also where the changelog had drifted from it
// (changes made with sql_log_bin=0, which no binlog reader sees); the other table is not read again.
// And the way on after a stopped table: `checkpoint skip-table`, then `sluice snapshot` while the
// daemon is down, taken at the next start. And a read again killed with SIGKILL twice mid-way: one
// marker, no key read twice after it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gtidBinlogPos, latestCheckpoint, makeWorkspace, startDaemon, startSluice, stopDaemon, until, waitForCheckpoint } from './helpers/daemon.ts';
import { killWhenRecordLands } from './helpers/crash-scenario.ts';
import { testMariaDb } from './helpers/servers.ts';
import { snapshotState } from './helpers/snapshot-check.ts';
import { assertCurrentIsSource, assertReadAfterOneMarker, driftFromChangelog, RandomWriter, requestFiles, rowsSql, settled, sluiceSnapshot, snapshotAgain, TABLE } from './helpers/snapshot-later.ts';
import { changesOf } from './helpers/stopped-changes.ts';

test('sluice snapshot db.table: the running daemon reads the table again after a marker, under writes, and its current state is the source; the way on after a stopped table', { timeout: 180_000 }, async () => {
  const server = await testMariaDb();
  const tag = `snr${Date.now() % 1_000_000}`;
  const db = await server.rootConnection();
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t ${TABLE}; CREATE TABLE ${tag}.u ${TABLE}`);
  await db.query(`${rowsSql(`${tag}.t`, 60, 't')}; ${rowsSql(`${tag}.u`, 50, 'u')}`);
  const workspace = makeWorkspace(server, { start: 'latest', routing: `  include: ['${tag}.*']`, intervalSeconds: 0.2, extra: 'snapshot:\n  mode: initial\n  chunkRows: 8\n' });
  const writerDb = await server.rootConnection();
  const writer = new RandomWriter(writerDb);

  let daemon = startDaemon(workspace, server);
  try {
    await settled(workspace, server, daemon);
    await driftFromChangelog(server, `${tag}.u`);

    writer.start([`${tag}.t`, `${tag}.u`]);
    const said = await snapshotAgain(workspace, server, daemon, `${tag}.u`);
    assert.match(said, new RegExp(`snapshot of ${tag}\\.u asked for \\(request \\S+, in `));
    await writer.stop();
    await settled(workspace, server, daemon);
    for (const table of ['t', 'u']) await assertCurrentIsSource(workspace, server, db, tag, table, `${tag}.${table}`);
    const u = await changesOf(workspace, tag, 'u');
    const firstReads = u.findIndex((line) => !line.startsWith('read '));
    assertReadAfterOneMarker(u.slice(firstReads), 'u, read again');
    assert.equal((await changesOf(workspace, tag, 't')).filter((line) => line.startsWith('read ')).length, 60, 't is not read again');
    assert.match(daemon.output(), new RegExp(`snapshot: asked to read ${tag}\\.u again`));

    // A table stopped (a change logged as a statement): skip-table and a snapshot asked for while the daemon is down.
    const statement = await server.rootConnection();
    await statement.query(`SET SESSION binlog_format = 'STATEMENT'; UPDATE ${tag}.t SET v = 'by-statement' WHERE id <= 20`);
    await statement.end();
    await db.query(`UPDATE ${tag}.t SET v = 'while-stopped' WHERE id = 30; INSERT INTO ${tag}.u VALUES (600, 'u600')`);
    await waitForCheckpoint(workspace, await gtidBinlogPos(server), 60_000, daemon);
    const stopped = (await latestCheckpoint(workspace))?.tables?.stopped ?? {};
    assert.deepEqual(Object.keys(stopped), [`${tag}.t`], 'the statement stops t');
    await stopDaemon(daemon);
    const skip = startSluice(['checkpoint', 'skip-table', `${tag}.t`, '--config', workspace.configFile], { cwd: workspace.dir, env: { SLUICE_TEST_PASSWORD: server.password } });
    assert.equal((await skip.exited).code, 0, skip.output());
    await sluiceSnapshot(workspace, server, `${tag}.t`);
    assert.equal(requestFiles(workspace).length, 1, 'the request waits for the next start');
    await db.query(`UPDATE ${tag}.t SET v = 'while-down' WHERE id = 31`);
    daemon = startDaemon(workspace, server);
    await until('the request is taken at the start', daemon, () => (requestFiles(workspace).length === 0 ? true : undefined));
    await db.query(`DELETE FROM ${tag}.t WHERE id = 32; UPDATE ${tag}.t SET v = 'after-start' WHERE id = 33`);
    await settled(workspace, server, daemon);
    assert.equal((await latestCheckpoint(workspace))?.tables?.stopped, undefined, 'no table stopped');
    for (const table of ['t', 'u']) await assertCurrentIsSource(workspace, server, db, tag, table, `${tag}.${table}`);
  } finally {
    await writer.stop().catch(() => undefined);
    await stopDaemon(daemon);
    await writerDb.end();
    await db.end();
  }
});

test('sluice snapshot refuses a table the routing does not capture, and snapshot.mode: never', { timeout: 60_000 }, async () => {
  const server = await testMariaDb();
  const tag = `snrx${Date.now() % 1_000_000}`;
  for (const [mode, table, expected] of [
    ['initial', `${tag}_other.t`, /routing\.include \(or routing\.exclude\) does not capture/],
    ['never', `${tag}.t`, /snapshot\.mode is never/],
  ] as const) {
    const workspace = makeWorkspace(server, { start: 'latest', routing: `  include: ['${tag}.*']`, extra: `snapshot:\n  mode: ${mode}\n` });
    const command = startSluice(['snapshot', table, '--config', workspace.configFile], { cwd: workspace.dir, env: { SLUICE_TEST_PASSWORD: server.password } });
    const exit = await command.exited;
    assert.notEqual(exit.code, 0, command.output());
    assert.match(command.output(), /SLUICE_SNAPSHOT/);
    assert.match(command.output(), expected);
    assert.equal(requestFiles(workspace).length, 0);
  }
});

test('a snapshot asked for is read exactly once across kill -9: one marker, no key read twice after it, the current state is the source', { timeout: 180_000 }, async () => {
  const server = await testMariaDb();
  const tag = `snrk${Date.now() % 1_000_000}`;
  const db = await server.rootConnection();
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.big ${TABLE}; CREATE TABLE ${tag}.other ${TABLE}`);
  // Large enough that reading it again spans many records (5-row chunks), so both kills land mid-read.
  await db.query(`${rowsSql(`${tag}.big`, 3000, 'b')}; ${rowsSql(`${tag}.other`, 20, 'o')}`);
  const workspace = makeWorkspace(server, { start: 'latest', routing: `  include: ['${tag}.*']`, intervalSeconds: 0.2, extra: 'snapshot:\n  mode: initial\n  chunkRows: 5\n' });
  const writerDb = await server.rootConnection();
  const writer = new RandomWriter(writerDb);
  let daemon = startDaemon(workspace, server);
  const readAgain = async () => (await snapshotState(workspace))?.position.tables[`${tag}.big`];
  try {
    await settled(workspace, server, daemon);
    const initialReads = (await changesOf(workspace, tag, 'big')).length;
    writer.start([`${tag}.big`, `${tag}.other`]);
    await sluiceSnapshot(workspace, server, `${tag}.big`);
    // Killed twice while the table is read again: once a record shows rows read, once the instant a record lands.
    for (const [run, kill] of [
      ['at once', async () => daemon.child.kill('SIGKILL')],
      ['the instant a record lands', async () => assert.ok(await killWhenRecordLands(workspace, daemon, 30_000, (file) => readingAgainIn(file, `${tag}.big`)), 'a record landed')],
    ] as const) {
      await until(`${run}: the read again moves on`, daemon, async () => {
        const entry = await readAgain();
        if (entry?.request === undefined || entry.reset) return undefined;
        return entry.rows > 40 && !entry.done ? true : undefined;
      });
      await kill();
      await daemon.exited;
      // The killed daemon's last record shows the read under way (the writer adds rows meanwhile, so
      // the rows read say nothing by themselves: 610 of a table that had 600 was seen mid-read).
      const left = await readAgain();
      assert.ok(left !== undefined && !left.done, `${run}: killed mid-read (${JSON.stringify(left)})`);
      daemon = startDaemon(workspace, server);
    }
    await until('the read again is done', daemon, async () => ((await readAgain())?.done ? true : undefined), 120_000);
    await writer.stop();
    await settled(workspace, server, daemon);
    for (const table of ['big', 'other']) await assertCurrentIsSource(workspace, server, db, tag, table, `${tag}.${table}`);
    assertReadAfterOneMarker((await changesOf(workspace, tag, 'big')).slice(initialReads), 'big, read again across two kills');
    assert.equal(requestFiles(workspace).length, 0);
  } finally {
    await writer.stop().catch(() => undefined);
    await stopDaemon(daemon);
    await writerDb.end();
    await db.end();
  }
});

/** Whether the record in `file` shows `table` being read again and not done yet. */
function readingAgainIn(file: string, table: string): boolean {
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as { sources?: Record<string, { position?: { tables?: Record<string, { done?: boolean; request?: string }> } }> };
    const entry = record.sources?.snapshot?.position?.tables?.[table];
    return entry?.request !== undefined && entry.done !== true;
  } catch {
    return false;
  }
}
