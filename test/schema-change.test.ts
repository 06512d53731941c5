// A schema change mid-stream: columns are matched by name, a new column is added to the Hive table,
// a dropped column stays (NULL from then on), and no value lands in the wrong column.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { gtidBinlogPos, makeWorkspace, startDaemon, waitForCheckpoint } from './helpers/daemon.ts';
import { testMariaDb } from './helpers/servers.ts';
import { bySequence, readCommittedRows } from './helpers/warehouse.ts';

test('ADD COLUMN (at the end and in the middle) and DROP COLUMN mid-stream keep every value in its column', { timeout: 120_000 }, async () => {
  const server = await testMariaDb();
  const db = await server.rootConnection();
  const tag = `s${Date.now() % 1_000_000}`;
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t (id INT PRIMARY KEY, a VARCHAR(10), b INT)`);
  const start = await gtidBinlogPos(server);
  const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']`, intervalSeconds: 0.3 });
  const daemon = startDaemon(workspace, server);
  try {
    await db.query(`INSERT INTO ${tag}.t VALUES (1, 'one', 10)`);
    await waitForCheckpoint(workspace, await gtidBinlogPos(server), 30_000, daemon);
    await db.query(`ALTER TABLE ${tag}.t ADD COLUMN c DECIMAL(5,2) AFTER id`);
    await db.query(`INSERT INTO ${tag}.t (id, a, b, c) VALUES (2, 'two', 20, 2.50)`);
    await db.query(`ALTER TABLE ${tag}.t ADD COLUMN d VARCHAR(5)`);
    await db.query(`UPDATE ${tag}.t SET d = 'dee', a = 'uno' WHERE id = 1`);
    await db.query(`ALTER TABLE ${tag}.t DROP COLUMN b`);
    await db.query(`INSERT INTO ${tag}.t (id, a, c, d) VALUES (3, 'three', 3.75, 'x')`);
    await waitForCheckpoint(workspace, await gtidBinlogPos(server), 30_000, daemon);
  } finally {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
    await db.end();
  }
  const catalog = new LocalCatalog(workspace.catalogDir);
  const table = await catalog.getTable(tag, 't');
  assert.deepEqual(
    table?.columns.map((column) => `${column.name} ${column.type}`),
    ['id int', 'a string', 'b int', '_op string', '_event_time timestamp', '_position string', '_seq bigint', '_source string', 'c decimal(5,2)', 'd string'],
  );
  const rows = bySequence(await readCommittedRows(catalog, new LocalFileSystem(workspace.warehouse), tag, 't'));
  assert.deepEqual(
    rows.map((row) => [row._op, row.id, row.a, row.b, row.c, row.d]),
    [
      ['insert', '1', 'one', '10', null, null],
      ['insert', '2', 'two', '20', '2.50', null],
      ['update', '1', 'uno', '10', null, 'dee'],
      ['insert', '3', 'three', null, '3.75', 'x'],
    ],
  );
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
  const exit = await failed.exited;
  assert.equal(exit.code, 1);
  assert.match(failed.output(), /source column 'dt' .* the partition column \(sink\.dayColumn\)/);

  const renamed = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']`, sinkExtra: '  dayColumn: day' });
  const daemon = startDaemon(renamed, server);
  try {
    await waitForCheckpoint(renamed, end, 30_000, daemon);
  } finally {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  }
  const rows = await readCommittedRows(new LocalCatalog(renamed.catalogDir), new LocalFileSystem(renamed.warehouse), tag, 'events');
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.dt, '2020-02-02');
  assert.match(String(rows[0]!.day), /^\d{4}-\d{2}-\d{2}$/);
});

test('a widening MODIFY is followed; an incompatible one stops with table, column and position, and resumes once fixed', { timeout: 120_000 }, async () => {
  const server = await testMariaDb();
  const db = await server.rootConnection();
  const tag = `w${Date.now() % 1_000_000}`;
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t (id INT PRIMARY KEY, n INT, d DECIMAL(38,0))`);
  const start = await gtidBinlogPos(server);
  await db.query(`INSERT INTO ${tag}.t VALUES (1, 7, 12345678901234567890)`);
  await db.query(`ALTER TABLE ${tag}.t MODIFY n BIGINT`);
  await db.query(`INSERT INTO ${tag}.t VALUES (2, 9000000000, 5)`);
  // 28 integer digits and 10 decimals: no Hive decimal (38 digits at most) holds both this and the old values.
  await db.query(`ALTER TABLE ${tag}.t MODIFY d DECIMAL(38,10)`);
  await db.query(`INSERT INTO ${tag}.t VALUES (3, 3, 1.5)`);
  const end = await gtidBinlogPos(server);
  await db.end();

  const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']`, intervalSeconds: 0.3 });
  const stopped = startDaemon(workspace, server);
  assert.equal((await stopped.exited).code, 1);
  assert.match(
    stopped.output(),
    new RegExp(`column d of ${tag}\\.t is decimal\\(38,0\\) in Hive, and the source now sends decimal\\(38,10\\) \\(decimal\\(38,10\\)\\) at binlog position GTID 0-1-\\d+`),
  );
  const catalog = new LocalCatalog(workspace.catalogDir);
  assert.equal((await catalog.getTable(tag, 't'))?.columns.find((column) => column.name === 'n')?.type, 'bigint', 'INT -> BIGINT was followed');

  // The user's fix: the Hive column becomes a string (here through the local catalog), then a restart.
  await catalog.changeColumnType(tag, 't', 'd', 'string');
  const resumed = startDaemon(workspace, server);
  try {
    await waitForCheckpoint(workspace, end, 30_000, resumed);
  } finally {
    resumed.child.kill('SIGTERM');
    await resumed.exited;
  }
  const rows = bySequence(await readCommittedRows(new LocalCatalog(workspace.catalogDir), new LocalFileSystem(workspace.warehouse), tag, 't'));
  assert.deepEqual(
    rows.map((row) => [row.id, row.n, row.d]),
    [
      ['1', '7', '12345678901234567890'],
      ['2', '9000000000', '5'],
      ['3', '3', '1.5000000000'],
    ],
  );
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
  assert.equal((await daemon.exited).code, 1);
  assert.match(daemon.output(), new RegExp(`table ${tag}\\.t exists but is not a sluice changelog table: it has columns \\(id, payload\\) partitioned by \\(nothing\\)`));
  assert.equal(await new LocalFileSystem(workspace.warehouse).status(`/${tag}.db/t/.data`), undefined);
});

test('a table with a geometry column before a text column is refused, not decoded wrongly', { timeout: 60_000 }, async () => {
  const server = await testMariaDb();
  const db = await server.rootConnection();
  const tag = `g${Date.now() % 1_000_000}`;
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.places (id INT PRIMARY KEY, spot POINT NOT NULL, label TEXT)`);
  const start = await gtidBinlogPos(server);
  await db.query(`INSERT INTO ${tag}.places VALUES (1, POINT(1, 2), 'héllo')`);
  await db.end();
  const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']` });
  const daemon = startDaemon(workspace, server);
  assert.equal((await daemon.exited).code, 1);
  assert.match(daemon.output(), new RegExp(`table ${tag}\\.places has a geometry column \\(spot\\) before the text or binary column label`));
  assert.equal(await new LocalCatalog(workspace.catalogDir).getTable(tag, 'places'), undefined, 'nothing was written');
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
  const daemon = startDaemon(workspace, server);
  try {
    await db.query(`INSERT INTO ${tag}.orders_live VALUES (1, 'before')`);
    await db.query(`RENAME TABLE ${tag}.orders_live TO ${tag}.archive_2026`);
    await db.query(`INSERT INTO ${tag}.archive_2026 VALUES (2, 'after')`);
    await db.query(`UPDATE ${tag}.archive_2026 SET v = 'changed' WHERE id = 1`);
    await db.query(`RENAME TABLE ${tag}.archive_2026 TO ${tag}.orders_again`);
    await db.query(`INSERT INTO ${tag}.orders_again VALUES (3, 'back')`);
    await waitForCheckpoint(workspace, await gtidBinlogPos(server), 30_000, daemon);
  } finally {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
    await db.end();
  }
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
