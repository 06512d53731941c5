// A schema change mid-stream: columns are matched by name, a new column is added to the Hive table,
// a dropped column stays (NULL from then on), and no value lands in the wrong column.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gtidBinlogPos, latestCheckpoint, makeWorkspace, metricsPort, runUntilCheckpoint, startDaemon, stopTableAndDaemon, waitForCaughtUp, waitForCheckpoint, withDaemon } from './helpers/daemon.ts';
import { addAndDropColumnsMidStream } from './helpers/add-drop-column.ts';
import { REPO_ROOT, testMariaDb } from './helpers/servers.ts';
import { bySequence, readCommittedRows } from './helpers/warehouse.ts';

test('ADD COLUMN (at the end and in the middle) and DROP COLUMN mid-stream keep every value in its column', { timeout: 120_000 }, async () => {
  await addAndDropColumnsMidStream(await testMariaDb());
});

test('a source column named like the partition column stops with a way out, and sink.dayColumn is that way', { timeout: 120_000 }, async () => {
  const server = await testMariaDb();
  const db = await server.rootConnection();
  const tag = `p${Date.now() % 1_000_000}`;
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.events (id INT PRIMARY KEY, dt DATE)`);
  const start = await gtidBinlogPos(server);
  await db.query(`INSERT INTO ${tag}.events VALUES (1, '2020-02-02')`);
  const end = await gtidBinlogPos(server);
  await db.end();

  const clashing = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']` });
  const failed = startDaemon(clashing, server);
  await stopTableAndDaemon(clashing, failed, `${tag}.events`);
  assert.match(failed.output(), /table \S+ stopped: source column 'dt' .* the partition column \(sink\.dayColumn\)/);
  // The way out without a fix: give up the table's missing changes, knowingly.
  const sluice = (...args: string[]) =>
    spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'checkpoint', ...args, '--config', clashing.configFile], { env: { ...process.env, SLUICE_TEST_PASSWORD: server.password }, encoding: 'utf8' });
  const wrong = sluice('skip-table', `${tag}.nope`);
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, new RegExp(`${tag}\\.nope is not a stopped table in .*; the stopped tables are ${tag}\\.events \\[SLUICE_CHECKPOINT_TARGET\\]`));
  const skipped = sluice('skip-table', `${tag}.events`);
  assert.equal(skipped.status, 0, skipped.stderr);
  assert.match(skipped.stdout, new RegExp(`${tag}\\.events is no longer stopped and takes changes from .* on\\.\n  skipped: +its changes from`));
  assert.equal((await latestCheckpoint(clashing))?.tables, undefined);
  assert.doesNotMatch(sluice('show').stdout, /stopped table/);

  const renamed = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']`, sinkExtra: '  dayColumn: day' });
  await runUntilCheckpoint(renamed, server, end, 30_000);
  const rows = await readCommittedRows(new LocalCatalog(renamed.catalogDir), new LocalFileSystem(renamed.warehouse), tag, 'events');
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.dt, '2020-02-02');
  assert.match(String(rows[0]!.day), /^\d{4}-\d{2}-\d{2}$/);
});

test('a widening MODIFY is followed; an incompatible one stops that table alone, and a restart after the fix catches it up, across kill -9', { timeout: 180_000 }, async () => {
  const server = await testMariaDb();
  const db = await server.rootConnection();
  const tag = `w${Date.now() % 1_000_000}`;
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t (id INT PRIMARY KEY, n INT, d DECIMAL(38,0)); CREATE TABLE ${tag}.u (id INT PRIMARY KEY, v VARCHAR(20))`);
  const start = await gtidBinlogPos(server);
  await db.query(`INSERT INTO ${tag}.t VALUES (1, 7, 12345678901234567890)`);
  await db.query(`INSERT INTO ${tag}.u VALUES (1, 'before')`);
  await db.query(`ALTER TABLE ${tag}.t MODIFY n BIGINT`);
  await db.query(`INSERT INTO ${tag}.t VALUES (2, 9000000000, 5)`);
  // 28 integer digits and 10 decimals: no Hive decimal (38 digits at most) holds both this and the old values.
  await db.query(`ALTER TABLE ${tag}.t MODIFY d DECIMAL(38,10)`);
  await db.query(`INSERT INTO ${tag}.t VALUES (3, 3, 1.5)`);
  // Both tables go on past the change that stopped t: u is written meanwhile, and t has enough
  // rows that writing them after the fix spans several checkpoints, one of which a kill -9 lands on.
  const uRows = 20_001;
  const tBulk = 150_000;
  for (let batch = 0; batch < 20; batch++) {
    const tFirst = 10 + batch * (tBulk / 20);
    await db.query(`INSERT INTO ${tag}.t SELECT seq, seq, seq + 0.25 FROM ${tag}.seq_${tFirst}_to_${tFirst + tBulk / 20 - 1}`);
    await db.query(`INSERT INTO ${tag}.u SELECT seq, CONCAT('after-', seq) FROM ${tag}.seq_${2 + batch * 1000}_to_${1001 + batch * 1000}`);
  }
  await db.query(`INSERT INTO ${tag}.t VALUES (4, 4, 2.25)`);
  const end = await gtidBinlogPos(server);
  await db.end();

  const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']`, intervalSeconds: 0.2 });
  const catalog = new LocalCatalog(workspace.catalogDir);
  const fs = new LocalFileSystem(workspace.warehouse);
  let stoppedRecord;
  const { daemon: first, exit } = await withDaemon(workspace, server, async (first) => {
    stoppedRecord = await waitForCheckpoint(workspace, end, 60_000, first);
    const port = await metricsPort(first);
    const ready = await fetch(`http://127.0.0.1:${port}/ready`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), new RegExp(`tables stopped by an error: ${tag}\\.t \\(SLUICE_SCHEMA_UNSUPPORTED\\)`));
    assert.match(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), /^sluice_stopped_tables 1$/m);
  });
  assert.equal(exit.code, 0, 'the daemon goes on, and stops cleanly when asked');
  assert.match(
    first.output(),
    new RegExp(`table ${tag}\\.t stopped: column d of ${tag}\\.t is decimal\\(38,0\\) in Hive, and the source now sends decimal\\(38,10\\) \\(decimal\\(38,10\\)\\) at binlog position GTID 0-1-\\d+`),
  );
  const stopped = (await latestCheckpoint(workspace))?.tables?.stopped?.[`${tag}.t`];
  assert.ok(stopped, `the newest record names ${tag}.t as stopped: ${JSON.stringify((await latestCheckpoint(workspace))?.tables)}`);
  assert.equal(stopped.code, 'SLUICE_SCHEMA_UNSUPPORTED');
  assert.ok(stoppedRecord);
  assert.equal((await catalog.getTable(tag, 't'))?.columns.find((column) => column.name === 'n')?.type, 'bigint', 'INT -> BIGINT was followed');
  // The other table holds everything, t only what came before the change it cannot follow.
  const uBefore = await readCommittedRows(catalog, fs, tag, 'u');
  assert.equal(uBefore.length, uRows);
  const tBefore = bySequence(await readCommittedRows(catalog, fs, tag, 't')).map((row) => row.id);
  assert.ok(!tBefore.includes('3') && !tBefore.includes('4'), `t holds no row from the stopping change on: ${tBefore.join(',')}`);
  const shown = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'checkpoint', 'show', '--config', workspace.configFile], {
    env: { ...process.env, SLUICE_TEST_PASSWORD: server.password },
    encoding: 'utf8',
  });
  assert.match(shown.stdout, new RegExp(`stopped table: +${tag}\\.t since .* SLUICE_SCHEMA_UNSUPPORTED: column d of`));
  const checked = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'check', '--config', workspace.configFile], {
    env: { ...process.env, SLUICE_TEST_PASSWORD: server.password },
    encoding: 'utf8',
  });
  assert.match(checked.stdout, new RegExp(`checkpoint position.*with the stopped table\\(s\\) ${tag}\\.t to catch up from`));

  // The user's fix: the Hive column becomes a string (here through the local catalog), then a restart,
  // killed the instant it records a checkpoint in the middle of catching t up.
  await catalog.changeColumnType(tag, 't', 'd', 'string');
  // How fast the daemon reads must not decide whether a checkpoint lands inside the catch-up: at
  // ~700k changes/s its 150,000 rows fit in one 0.2 s interval. With a tick every 10 ms one is due at
  // nearly every transaction boundary, so the catch-up's 20 transactions of t are recorded in steps.
  writeFileSync(workspace.configFile, readFileSync(workspace.configFile, 'utf8').replace(/intervalSeconds: 0\.2$/m, 'intervalSeconds: 0.01'));
  assert.match(readFileSync(workspace.configFile, 'utf8'), /intervalSeconds: 0\.01$/m);
  const catchingUp = startDaemon(workspace, server);
  let killedMidway = false;
  try {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && catchingUp.child.exitCode === null) {
      const record = await latestCheckpoint(workspace);
      if (record?.tables?.ahead && !record.tables.stopped) {
        catchingUp.child.kill('SIGKILL');
        killedMidway = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    catchingUp.child.kill('SIGKILL');
    await catchingUp.exited;
  }
  assert.ok(killedMidway, `a checkpoint recorded the catch-up:\n${catchingUp.output().slice(-3000)}`);
  assert.match(catchingUp.output(), /retrying a stopped table from where it stopped/);

  await withDaemon(workspace, server, (resumed) => waitForCaughtUp(workspace, end, resumed));
  // A fresh catalog: the one above caches what it read before the daemon added partitions.
  const rows = bySequence(await readCommittedRows(new LocalCatalog(workspace.catalogDir), fs, tag, 't'));
  const bulk = Array.from({ length: tBulk }, (_, index) => [String(10 + index), String(10 + index), `${10 + index}.2500000000`]);
  assert.deepEqual(
    rows.map((row) => [row.id, row.n, row.d]),
    [['1', '7', '12345678901234567890'], ['2', '9000000000', '5'], ['3', '3', '1.5000000000'], ...bulk, ['4', '4', '2.2500000000']],
  );
  const uAfter = bySequence(await readCommittedRows(new LocalCatalog(workspace.catalogDir), fs, tag, 'u'));
  assert.equal(uAfter.length, uRows, 'u took none of the re-read changes twice');
  assert.equal(new Set(uAfter.map((row) => row._seq)).size, uRows);
  assert.deepEqual(uAfter.slice(0, 2).map((row) => [row.id, row.v]), [['1', 'before'], ['2', 'after-2']]);
  const tSeqs = rows.map((row) => BigInt(String(row._seq)));
  const uSeqs = new Set(uAfter.map((row) => BigInt(String(row._seq))));
  assert.ok(tSeqs.every((seq) => !uSeqs.has(seq)), 'the re-read numbers t the same as the first read did: no sequence number is shared');
});

test('with sink.onTableError: daemon, an incompatible change stops the daemon, naming table, column and position', { timeout: 120_000 }, async () => {
  const server = await testMariaDb();
  const db = await server.rootConnection();
  const tag = `x${Date.now() % 1_000_000}`;
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t (id INT PRIMARY KEY, d DECIMAL(38,0))`);
  const start = await gtidBinlogPos(server);
  await db.query(`INSERT INTO ${tag}.t VALUES (1, 12345678901234567890)`);
  await db.query(`ALTER TABLE ${tag}.t MODIFY d DECIMAL(38,10)`);
  await db.query(`INSERT INTO ${tag}.t VALUES (2, 1.5)`);
  await db.end();
  const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']`, intervalSeconds: 0.3, sinkExtra: '  onTableError: daemon' });
  const daemon = startDaemon(workspace, server);
  assert.equal((await daemon.exited).code, 1);
  assert.match(daemon.output(), new RegExp(`column d of ${tag}\\.t is decimal\\(38,0\\) in Hive, and the source now sends decimal\\(38,10\\)`));
  assert.equal((await latestCheckpoint(workspace))?.tables, undefined);
});

test('an existing table that is not a changelog table is named with both layouts and never written', { timeout: 60_000 }, async () => {
  const server = await testMariaDb();
  const db = await server.rootConnection();
  const tag = `l${Date.now() % 1_000_000}`;
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t (id INT PRIMARY KEY)`);
  const start = await gtidBinlogPos(server);
  await db.query(`INSERT INTO ${tag}.t VALUES (1)`);
  await db.end();
  const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']` });
  await new LocalCatalog(workspace.catalogDir).createTable({
    database: tag,
    name: 't',
    columns: [{ name: 'id', type: 'int' }, { name: 'payload', type: 'string' }],
    partitionColumns: [],
    format: 'text',
    location: `/${tag}.db/t`,
  });
  const daemon = startDaemon(workspace, server);
  await stopTableAndDaemon(workspace, daemon, `${tag}.t`);
  assert.match(daemon.output(), new RegExp(`table ${tag}\\.t exists but is not a sluice changelog table: it has columns \\(id, payload\\) partitioned by \\(nothing\\)`));
  assert.equal(await new LocalFileSystem(workspace.warehouse).status(`/${tag}.db/t/.data`), undefined);
});

test('a table with a geometry column before a text column is refused, not decoded wrongly; the other tables go on', { timeout: 60_000 }, async () => {
  const server = await testMariaDb();
  const db = await server.rootConnection();
  const tag = `g${Date.now() % 1_000_000}`;
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.places (id INT PRIMARY KEY, spot POINT NOT NULL, label TEXT); CREATE TABLE ${tag}.notes (id INT PRIMARY KEY, body TEXT)`);
  const start = await gtidBinlogPos(server);
  await db.query(`INSERT INTO ${tag}.places VALUES (1, POINT(1, 2), 'héllo')`);
  await db.query(`INSERT INTO ${tag}.notes VALUES (1, 'kept')`);
  await db.end();
  const refusal = new RegExp(`table ${tag}\\.places has a geometry column \\(spot\\) before the text or binary column label`);

  const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']` });
  const daemon = startDaemon(workspace, server);
  await stopTableAndDaemon(workspace, daemon, `${tag}.places`);
  assert.match(daemon.output(), refusal);
  assert.equal(await new LocalCatalog(workspace.catalogDir).getTable(tag, 'places'), undefined, 'nothing was written');
  const notes = await readCommittedRows(new LocalCatalog(workspace.catalogDir), new LocalFileSystem(workspace.warehouse), tag, 'notes');
  assert.deepEqual(notes.map((row) => [row.id, row.body]), [['1', 'kept']]);

  // With sink.onTableError: daemon, a table the source cannot decode stops the daemon.
  const strict = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']`, sinkExtra: '  onTableError: daemon' });
  const stopped = startDaemon(strict, server);
  assert.equal((await stopped.exited).code, 1);
  assert.match(stopped.output(), refusal);
  assert.equal(await new LocalCatalog(strict.catalogDir).getTable(tag, 'places'), undefined, 'nothing was written');
});

test('RENAME TABLE mid-stream: the changes after it are routed by the rules again, under the new name', { timeout: 120_000 }, async () => {
  const server = await testMariaDb();
  const db = await server.rootConnection();
  const tag = `r${Date.now() % 1_000_000}`;
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.orders_live (id INT PRIMARY KEY, v VARCHAR(10))`);
  const start = await gtidBinlogPos(server);
  // orders_* goes to ods.orders, archive_* to ods.archive, and nothing else is captured.
  const routing = [
    `  include: ['${tag}.*']`,
    '  rules:',
    `    - { match: '^${tag}\\.orders_.*$', target: '${tag}_ods.orders' }`,
    `    - { match: '^${tag}\\.archive_.*$', target: '${tag}_ods.archive' }`,
  ].join('\n');
  const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing, intervalSeconds: 0.3 });
  await withDaemon(workspace, server, async (daemon) => {
    await db.query(`INSERT INTO ${tag}.orders_live VALUES (1, 'before')`);
    await db.query(`RENAME TABLE ${tag}.orders_live TO ${tag}.archive_2026`);
    await db.query(`INSERT INTO ${tag}.archive_2026 VALUES (2, 'after')`);
    await db.query(`UPDATE ${tag}.archive_2026 SET v = 'changed' WHERE id = 1`);
    await db.query(`RENAME TABLE ${tag}.archive_2026 TO ${tag}.orders_again`);
    await db.query(`INSERT INTO ${tag}.orders_again VALUES (3, 'back')`);
    await waitForCheckpoint(workspace, await gtidBinlogPos(server), 30_000, daemon);
  }).finally(() => db.end());
  const catalog = new LocalCatalog(workspace.catalogDir);
  const fs = new LocalFileSystem(workspace.warehouse);
  const orders = bySequence(await readCommittedRows(catalog, fs, `${tag}_ods`, 'orders'));
  const archive = bySequence(await readCommittedRows(catalog, fs, `${tag}_ods`, 'archive'));
  assert.deepEqual(
    orders.map((row) => [row._op, row.id, row.v, row._source]),
    [
      ['insert', '1', 'before', `${tag}.orders_live`],
      ['insert', '3', 'back', `${tag}.orders_again`],
    ],
  );
  assert.deepEqual(
    archive.map((row) => [row._op, row.id, row.v, row._source]),
    [
      ['insert', '2', 'after', `${tag}.archive_2026`],
      ['update', '1', 'changed', `${tag}.archive_2026`],
    ],
  );
});

