// The current-state view through the real HiveServer2: sluice records the source's primary key as the
// table property sluice.primary.key and keeps `<table>_current` (src/catalog/hive-current-view.ts) in
// step with the table's columns. After inserts, updates, deletes, a TRUNCATE, an ADD COLUMN and a
// widened type, SELECT * FROM the view through HiveServer2 equals the source table row by row; a
// table without a primary key gets no view. Two more tables take UPDATEs that change their primary key
// (single and composite, back and forth: helpers/key-changes.ts): their views equal the source too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HiveConnection } from '../src/catalog/hive-connection.ts';
import { HiveServer2Catalog } from '../src/catalog/hive-server2-catalog.ts';
import { gtidBinlogPos, makeWorkspace, waitForCheckpoint, withDaemon } from './helpers/daemon.ts';
import { hiveStorageYaml } from './helpers/hive-storage.ts';
import { keyChangeSource, keyChangeTables, runKeyChanges, sortRows } from './helpers/key-changes.ts';
import { testHdfs, testHiveServer2, testMariaDb } from './helpers/servers.ts';

test('HiveServer2: <table>_current equals the source table after inserts, updates, deletes, TRUNCATE, ADD COLUMN and a widened type', { timeout: 600_000 }, async () => {
  const server = await testMariaDb();
  const hdfs = await testHdfs();
  const hive = await testHiveServer2();
  const tag = `cv${process.pid}_${Date.now() % 1_000_000}`;
  const db = await server.rootConnection();
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t (id INT, k VARCHAR(5), v VARCHAR(20), n INT, PRIMARY KEY (k, id)); CREATE TABLE ${tag}.nokey (v INT); CREATE TABLE ${tag}.later (v INT); ${keyChangeTables(tag)}`);
  const start = await gtidBinlogPos(server);
  const storage = hiveStorageYaml(hdfs, hive, `/sluice-current/${tag}`).join('\n');
  const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']`, storage, intervalSeconds: 0.5 });
  const user = new HiveConnection({ host: hive.host, port: hive.port, authentication: hive.authentication, connectTimeoutMs: 20_000, statementTimeoutMs: 300_000 });
  const viewColumns = async (): Promise<string[]> =>
    (await user.query(`DESCRIBE \`${tag}\`.\`t_current\``)).map((row) => `${String(row.col_name).trim()} ${String(row.data_type).trim()}`);
  try {
    await withDaemon(workspace, server, async (daemon) => {
      const t = `${tag}.t`;
      await db.query(`INSERT INTO ${t} VALUES (1, 'a', 'one', 1), (2, 'a', 'two', 2), (1, 'b', 'b-one', 3), (3, 'a', 'three', 4)`);
      await db.query(`UPDATE ${t} SET v = 'one!' WHERE id = 1 AND k = 'a'`);
      await db.query(`DELETE FROM ${t} WHERE id = 2`);
      await db.query(`INSERT INTO ${tag}.nokey VALUES (1)`);
      await db.query(`INSERT INTO ${tag}.later VALUES (1), (2)`);
      await runKeyChanges(db, tag, 0);
      await waitForCheckpoint(workspace, await gtidBinlogPos(server), 120_000, daemon);
      await db.query(`TRUNCATE TABLE ${t}`);
      await db.query(`INSERT INTO ${t} VALUES (1, 'a', 'again', 10), (2, 'a', 'two again', 20), (5, 'c', 'five', 50)`);
      await db.query(`ALTER TABLE ${t} ADD COLUMN extra VARCHAR(10)`);
      await db.query(`INSERT INTO ${t} VALUES (6, 'c', 'six', 60, 'x6')`);
      await db.query(`UPDATE ${t} SET extra = 'x1', v = 'again!' WHERE id = 1`);
      await db.query(`DELETE FROM ${t} WHERE id = 5`);
      await runKeyChanges(db, tag, 1);
      await waitForCheckpoint(workspace, await gtidBinlogPos(server), 120_000, daemon);
      assert.deepEqual(await viewColumns(), ['id int', 'k string', 'v string', 'n int', 'extra string'], 'the view follows ADD COLUMN');
      // A key the source gains later is recorded, and the view made, with the next change.
      await db.query(`ALTER TABLE ${tag}.later ADD PRIMARY KEY (v)`);
      await db.query(`UPDATE ${tag}.later SET v = 3 WHERE v = 2`);
      await db.query(`ALTER TABLE ${t} MODIFY n BIGINT`);
      await db.query(`UPDATE ${t} SET n = 9000000000 WHERE id = 6`);
      await waitForCheckpoint(workspace, await gtidBinlogPos(server), 120_000, daemon);
      assert.deepEqual(await viewColumns(), ['id int', 'k string', 'v string', 'n bigint', 'extra string'], 'the view follows a widened type');
    });

    const catalog = new HiveServer2Catalog({ host: hive.host, port: hive.port, authentication: hive.authentication, fsDefaultFS: hdfs.fsDefaultFS });
    try {
      assert.deepEqual((await catalog.getTable(tag, 't'))?.primaryKey, ['id', 'k'], 'the key columns, in column order, as the table property records them');
      assert.equal((await catalog.getTable(tag, 'nokey'))?.primaryKey, undefined);
      assert.deepEqual((await catalog.getTable(tag, 'later'))?.primaryKey, ['v'], 'a key added at the source later is recorded');
    } finally {
      await catalog.close();
    }
    const tables = (await user.query(`SHOW TABLES IN \`${tag}\``)).map((row) => String(Object.values(row)[0]));
    assert.ok(tables.includes('t_current'), `t_current is there: ${tables.join(', ')}`);
    assert.ok(!tables.includes('nokey_current'), 'a table without a primary key gets no view');
    assert.ok(tables.includes('later_current'), 'a table whose source gained a key gets its view');

    const [source] = await db.query(`SELECT CAST(id AS CHAR) AS id, k, v, CAST(n AS CHAR) AS n, extra FROM ${tag}.t ORDER BY k, id`);
    const view = await user.query(`SELECT * FROM \`${tag}\`.\`t_current\``);
    assert.deepEqual(Object.keys(view[0] ?? {}).map((name) => name.replace(/^.*\./, '')), ['id', 'k', 'v', 'n', 'extra'], 'the source columns, without the metadata columns');
    const rows = view
      .map((row) => Object.fromEntries(Object.entries(row).map(([name, value]) => [name.replace(/^.*\./, ''), value === null ? null : String(value)])))
      .sort((x, y) => (`${x.k}|${x.id!.padStart(5)}` < `${y.k}|${y.id!.padStart(5)}` ? -1 : 1));
    assert.deepEqual(rows, (source as Record<string, unknown>[]).map((row) => ({ ...row })));
    assert.equal(rows.length, 3);
    for (const table of ['one', 'two'] as const) {
      const current = (await user.query(`SELECT * FROM \`${tag}\`.\`${table}_current\``)).map((row) => Object.values(row).map((value) => (value === null ? null : String(value))));
      assert.deepEqual(sortRows(current as string[][]), await keyChangeSource(db, tag, table), `${table}_current after primary keys changed`);
    }
  } finally {
    await db.end();
    await user.execute(`DROP DATABASE IF EXISTS \`${tag}\` CASCADE`).catch(() => undefined);
    await user.close();
  }
});
