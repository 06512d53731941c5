// TRUNCATE TABLE, DROP TABLE and CREATE OR REPLACE TABLE remove rows without a row event: each
// captured table they empty gets one marker row (_op = 'truncate') in its changelog table, numbered
// in stream order between the rows around it, exactly once across kill -9 and replay; `sluice
// query` shows it, and docs/row-format.md's latest-state rule over it gives the source's current rows.
// Also: `sluice query` over a Parquet table whose older files predate an ADD COLUMN.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { killWhenRecordLands } from './helpers/crash-scenario.ts';
import { type DaemonWorkspace, gtidBinlogPos, latestCheckpoint, makeWorkspace, metricsPort, startDaemon, waitForCaughtUp, waitForChangesRead, waitForCheckpoint, withDaemon } from './helpers/daemon.ts';
import { runQueryCli } from './helpers/query-cli.ts';
import { testMariaDb } from './helpers/servers.ts';
import { bySequence, readCommittedRows, type TableRow } from './helpers/warehouse.ts';

const TABLE = '(id INT PRIMARY KEY, v VARCHAR(10))';

/** docs/row-format.md's latest state of a changelog table: per key the highest _seq, unless a delete, or a later truncate marker of its _source. */
function latestStateSql(table: string): string {
  return `SELECT _source, id, v FROM ${table} AS t
    WHERE _op IN ('insert', 'update')
      AND _seq = (SELECT max(_seq) FROM ${table} AS k WHERE k._source = t._source AND k.id = t.id)
      AND _seq > coalesce((SELECT max(_seq) FROM ${table} AS m WHERE m._op = 'truncate' AND m._source = t._source), -1)
    ORDER BY _source, id`;
}

test('TRUNCATE, DROP TABLE and CREATE OR REPLACE of captured tables write one marker each, in _seq order, exactly once across kill -9', { timeout: 240_000 }, async () => {
  const server = await testMariaDb();
  const tag = `tr${Date.now() % 1_000_000}`;
  const ods = `ods_${tag}`;
  const setup = await server.rootConnection();
  await setup.query(
    `CREATE DATABASE ${tag}; CREATE DATABASE ${tag}_x; ` +
      ['a', 'b', 'c', 'd', 's1', 's2'].map((name) => `CREATE TABLE ${tag}.${name} ${TABLE};`).join(' ') +
      ` CREATE TABLE ${tag}_x.other ${TABLE}`,
  );
  await setup.end();
  const start = await gtidBinlogPos(server);
  const workspace = makeWorkspace(server, {
    start: `{ gtid: '${start}' }`,
    // Two shards into one target; every other table of the database to a table of its own; ${tag}_x is not captured.
    routing: `  include: ['${tag}.*']\n  rules:\n    - match: '^${tag}\\.s\\d$'\n      target: ${ods}.s\n    - match: '^${tag}\\.(\\w+)$'\n      target: ${ods}.$1`,
    // The first run takes no checkpoint: its markers are staged when it is killed, and read again.
    intervalSeconds: 600,
  });

  // The session's default database is the test's: unqualified names resolve against it.
  const db = await server.rootConnection(tag);
  /** [target, _op, id, _source, _position] of each change, in the order the source made them. */
  const expected: [string, string, string | null, string, string | undefined][] = [];
  const lastGtid = async (): Promise<string> => {
    const [rows] = await db.query('SELECT @@last_gtid AS gtid');
    return (rows as { gtid: string }[])[0]!.gtid;
  };
  const insert = async (table: string, id: number, target = table): Promise<void> => {
    await db.query(`INSERT INTO ${table} VALUES (?, ?)`, [id, `${table}${id}`]);
    expected.push([target, 'insert', String(id), `${tag}.${table}`, undefined]);
  };
  /** Runs a statement that empties `sources` (each [source table, target]); a source whose target table was never created gets no marker. */
  const empties = async (statement: string, sources: [string, string][]): Promise<void> => {
    await db.query(statement);
    const gtid = await lastGtid();
    for (const [table, target] of sources) expected.push([target, 'truncate', null, `${tag}.${table}`, gtid]);
  };

  let changesRead = 0;
  const daemon = startDaemon(workspace, server);
  try {
    for (const table of ['a', 'b', 'c', 'd']) await insert(table, 1);
    await insert('a', 2);
    await insert('s1', 1, 's');
    await insert('s2', 1, 's');
    await db.query(`INSERT INTO ${tag}_x.other VALUES (1, 'x')`);
    await empties('TRUNCATE TABLE a', [['a', 'a']]);
    await insert('a', 3);
    await empties(`TRUNCATE \`${tag}\`.\`b\``, [['b', 'b']]);
    await db.query(`TRUNCATE TABLE ${tag}_x.other`);
    await db.query('CREATE TEMPORARY TABLE c (id INT); DROP TEMPORARY TABLE c');
    // 'nosuch' is routed, but its target table was never created: nothing there to mark.
    await empties(`DROP TABLE IF EXISTS b, ${tag}.c, nosuch`, [['b', 'b'], ['c', 'c']]);
    changesRead++; // the marker of nosuch is read, and left out by the sink
    await db.query(`CREATE TABLE b ${TABLE}`);
    await insert('b', 5);
    await empties(`CREATE OR REPLACE TABLE d ${TABLE}`, [['d', 'd']]);
    await insert('d', 2);
    await empties('TRUNCATE s1', [['s1', 's']]);
    await insert('s2', 2, 's');
    changesRead += expected.length;
    await waitForChangesRead(daemon, changesRead);
  } finally {
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    await db.end();
  }
  const end = await gtidBinlogPos(server);
  assert.notEqual((await latestCheckpoint(workspace))?.source.position.gtidSet, end, 'the first run committed nothing of it');

  // The second run replays it all, and is killed the instant its first checkpoint record lands
  // (between record and commit); the third recovers and finishes.
  writeFileSync(workspace.configFile, readFileSync(workspace.configFile, 'utf8').replace('intervalSeconds: 600', 'intervalSeconds: 0.3'));
  const replay = startDaemon(workspace, server);
  const landed = await killWhenRecordLands(workspace, replay, 60_000);
  replay.child.kill('SIGKILL');
  await replay.exited;
  assert.ok(landed, `a checkpoint record landed:\n${replay.output().slice(-3000)}`);
  const { daemon: last, exit } = await withDaemon(workspace, server, async (last) => {
    await metricsPort(last); // its signal handlers are in place from here on
    await waitForCheckpoint(workspace, end, 60_000, last);
  });
  assert.equal(exit.code, 0, last.output().slice(-3000));

  const catalog = new LocalCatalog(workspace.catalogDir);
  const fs = new LocalFileSystem(workspace.warehouse);
  assert.equal(await catalog.getTable(ods, 'nosuch'), undefined, 'no table is created for a marker alone');
  const rows: (TableRow & { target: string })[] = [];
  for (const target of ['a', 'b', 'c', 'd', 's']) rows.push(...(await readCommittedRows(catalog, fs, ods, target)).map((row) => ({ ...row, target })));
  const ordered = bySequence(rows);
  assert.deepEqual(
    ordered.map((row) => [row.target, row._op, row.id, row._source, row._op === 'truncate' ? row._position : undefined]),
    expected,
    'every change once, markers in stream order between the rows around them',
  );
  const seqs = ordered.map((row) => BigInt(String(row._seq)));
  assert.equal(new Set(seqs).size, seqs.length, 'no sequence number twice');
  for (const marker of ordered.filter((row) => row._op === 'truncate')) {
    assert.equal(marker.id, null);
    assert.equal(marker.v, null);
    assert.match(String(marker._event_time), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    assert.equal(marker.dt, String(marker._event_time).slice(0, 10), 'partitioned by its event time');
  }

  // `sluice query` shows the markers, and docs/row-format.md's latest-state rule honours them.
  const shown = await runQueryCli(workspace, server, `SELECT _op, id, _source FROM ${ods}.s ORDER BY _seq`);
  assert.deepEqual(shown, [
    { _op: 'insert', id: '1', _source: `${tag}.s1` },
    { _op: 'insert', id: '1', _source: `${tag}.s2` },
    { _op: 'truncate', id: null, _source: `${tag}.s1` },
    { _op: 'insert', id: '2', _source: `${tag}.s2` },
  ]);
  const latest = async (table: string) => (await runQueryCli(workspace, server, latestStateSql(`${ods}.${table}`))).map((row) => `${row._source}:${row.id}`);
  assert.deepEqual(await latest('a'), [`${tag}.a:3`]);
  assert.deepEqual(await latest('b'), [`${tag}.b:5`]);
  assert.deepEqual(await latest('c'), []);
  assert.deepEqual(await latest('d'), [`${tag}.d:2`]);
  assert.deepEqual(await latest('s'), [`${tag}.s2:1`, `${tag}.s2:2`]);
  // The current-state view (`<table>_current`, docs/commands.md) gives the same rows, without the metadata
  // columns, grouped by the primary key sluice recorded when it created the table (no --key).
  for (const table of ['a', 'b', 'c', 'd', 's']) {
    assert.deepEqual((await new LocalCatalog(workspace.catalogDir).getTable(ods, table))?.primaryKey, ['id'], `${ods}.${table} records its source's primary key`);
    const expected = (await runQueryCli(workspace, server, latestStateSql(`${ods}.${table}`))).map((row) => ({ id: row.id, v: row.v }));
    const current = await runQueryCli(workspace, server, `SELECT * FROM ${ods}.${table}_current ORDER BY id`);
    assert.deepEqual(current, expected, `${ods}.${table}_current`);
  }
});

test('sluice query reads a Parquet table whose older files predate an ADD COLUMN, with NULL for the new column, and shows its truncate marker', { timeout: 120_000 }, async () => {
  const server = await testMariaDb();
  const tag = `pq${Date.now() % 1_000_000}`;
  const db = await server.rootConnection();
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.p ${TABLE}; CREATE TABLE ${tag}.n (v INT)`);
  const start = await gtidBinlogPos(server);
  const workspace: DaemonWorkspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']`, sinkExtra: '  format: parquet', intervalSeconds: 0.3 });
  await withDaemon(workspace, server, async (daemon) => {
    await db.query(`INSERT INTO ${tag}.p VALUES (1, 'one')`);
    await db.query(`INSERT INTO ${tag}.n VALUES (1)`);
    await waitForCheckpoint(workspace, await gtidBinlogPos(server), 30_000, daemon);
    await db.query(`ALTER TABLE ${tag}.p ADD COLUMN region VARCHAR(10)`);
    await db.query(`INSERT INTO ${tag}.p VALUES (2, 'two', 'eu')`);
    await db.query(`TRUNCATE TABLE ${tag}.p`);
    await db.query(`INSERT INTO ${tag}.p VALUES (3, 'three', 'us')`);
    await waitForCheckpoint(workspace, await gtidBinlogPos(server), 30_000, daemon);
  }).finally(() => db.end());
  const rows = await runQueryCli(workspace, server, `SELECT id, v, region, _op, _source FROM ${tag}.p ORDER BY _seq`);
  assert.deepEqual(rows, [
    { id: '1', v: 'one', region: null, _op: 'insert', _source: `${tag}.p` },
    { id: '2', v: 'two', region: 'eu', _op: 'insert', _source: `${tag}.p` },
    { id: null, v: null, region: null, _op: 'truncate', _source: `${tag}.p` },
    { id: '3', v: 'three', region: 'us', _op: 'insert', _source: `${tag}.p` },
  ]);
  // The current state by the recorded key, with the column added since; a table without a primary key records none.
  assert.deepEqual(await runQueryCli(workspace, server, `SELECT * FROM ${tag}.p_current`), [{ id: '3', v: 'three', region: 'us' }]);
  const catalog = new LocalCatalog(workspace.catalogDir);
  assert.deepEqual((await catalog.getTable(tag, 'p'))?.primaryKey, ['id']);
  assert.equal((await catalog.getTable(tag, 'n'))?.primaryKey, undefined);
});

test('a stopped table gets its marker once when it catches up; the table that went on does not get its own twice', { timeout: 120_000 }, async () => {
  const server = await testMariaDb();
  const tag = `ts${Date.now() % 1_000_000}`;
  const db = await server.rootConnection();
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t (id INT PRIMARY KEY, d DECIMAL(38,0)); CREATE TABLE ${tag}.u ${TABLE}`);
  const start = await gtidBinlogPos(server);
  await db.query(`INSERT INTO ${tag}.t VALUES (1, 12345678901234567890)`);
  // Hive's decimal(38,0) cannot become decimal(38,10): t stops here, u goes on.
  await db.query(`ALTER TABLE ${tag}.t MODIFY d DECIMAL(38,10)`);
  await db.query(`INSERT INTO ${tag}.t VALUES (2, 1.5)`);
  await db.query(`INSERT INTO ${tag}.u VALUES (1, 'u1')`);
  await db.query(`TRUNCATE TABLE ${tag}.u`);
  await db.query(`INSERT INTO ${tag}.u VALUES (2, 'u2')`);
  await db.query(`TRUNCATE TABLE ${tag}.t`);
  await db.query(`INSERT INTO ${tag}.t VALUES (3, 3)`);
  const end = await gtidBinlogPos(server);
  await db.end();

  const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']`, intervalSeconds: 0.2 });
  const catalog = new LocalCatalog(workspace.catalogDir);
  const fs = new LocalFileSystem(workspace.warehouse);
  const read = async (table: string) => bySequence(await readCommittedRows(new LocalCatalog(workspace.catalogDir), fs, tag, table));
  const { daemon: first } = await withDaemon(workspace, server, async (daemon) => {
    await metricsPort(daemon);
    await waitForCheckpoint(workspace, end, 60_000, daemon);
  });
  assert.ok((await latestCheckpoint(workspace))?.tables?.stopped?.[`${tag}.t`], `t is stopped:\n${first.output().slice(-3000)}`);
  assert.ok(!(await read('t')).some((row) => row._op !== 'insert' || row.id !== '1'), 't holds nothing from the change it stopped at on');

  await catalog.changeColumnType(tag, 't', 'd', 'string');
  await withDaemon(workspace, server, async (second) => {
    await metricsPort(second);
    await waitForCaughtUp(workspace, end, second);
  });
  const t = await read('t');
  const u = await read('u');
  assert.deepEqual(u.map((row) => [row._op, row.id]), [['insert', '1'], ['truncate', null], ['insert', '2']]);
  assert.deepEqual(t.map((row) => [row._op, row.id]), [['insert', '1'], ['insert', '2'], ['truncate', null], ['insert', '3']]);
  // One numbering for the stream, the same on the second read: the skipped marker of u kept its number.
  const seqs = bySequence([...t, ...u]).map((row) => `${row._source}:${row._op}:${row.id}`);
  assert.deepEqual(seqs, [
    `${tag}.t:insert:1`,
    `${tag}.t:insert:2`,
    `${tag}.u:insert:1`,
    `${tag}.u:truncate:null`,
    `${tag}.u:insert:2`,
    `${tag}.t:truncate:null`,
    `${tag}.t:insert:3`,
  ]);
  assert.equal(new Set([...t, ...u].map((row) => String(row._seq))).size, 7, 'no sequence number twice');
});
