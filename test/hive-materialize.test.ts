// Materialized current state through the real HiveServer2 and HDFS: the daemon folds a changelog
// table into `t_snapshot` (a new HDFS directory per materialization, swapped in with ALTER TABLE ...
// SET LOCATION), and re-creates the view `t_current` over the snapshot plus the changes after its
// watermark. After inserts, updates, deletes, a TRUNCATE and an ADD COLUMN, the view and the
// snapshot table, read through HiveServer2 as a user would, equal the source table row by row.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HiveConnection } from '../src/catalog/hive-connection.ts';
import { HiveServer2Catalog } from '../src/catalog/hive-server2-catalog.ts';
import { snapshotWatermark } from '../src/catalog/snapshot-location.ts';
import { gtidBinlogPos, makeWorkspace, waitForCheckpoint, withDaemon, type RunningDaemon } from './helpers/daemon.ts';
import { hiveStorageYaml } from './helpers/hive-storage.ts';
import { testHdfs, testHiveServer2, testMariaDb } from './helpers/servers.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('HiveServer2: t_snapshot swapped in by SET LOCATION, and t_current over it, equal the source table', { timeout: 900_000 }, async () => {
  const server = await testMariaDb();
  const hdfs = await testHdfs();
  const hive = await testHiveServer2();
  const tag = `mz${process.pid}_${Date.now() % 1_000_000}`;
  const db = await server.rootConnection();
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t (id INT, k VARCHAR(5), v VARCHAR(20), PRIMARY KEY (k, id))`);
  const start = await gtidBinlogPos(server);
  const storage = hiveStorageYaml(hdfs, hive, `/sluice-materialize/${tag}`).join('\n');
  const workspace = makeWorkspace(server, {
    start: `{ gtid: '${start}' }`,
    routing: `  include: ['${tag}.*']`,
    storage,
    intervalSeconds: 0.5,
    sinkExtra: `  materialize:\n    enabled: true\n    schedule: '*/3 * * * * *'\n`,
  });
  const user = new HiveConnection({ host: hive.host, port: hive.port, authentication: hive.authentication, connectTimeoutMs: 20_000, statementTimeoutMs: 300_000 });
  const catalog = new HiveServer2Catalog({ host: hive.host, port: hive.port, authentication: hive.authentication, fsDefaultFS: hdfs.fsDefaultFS });
  const rowsOf = async (sql: string): Promise<Record<string, string | null>[]> =>
    (await user.query(sql))
      .map((row) => Object.fromEntries(Object.entries(row).map(([name, value]) => [name.replace(/^.*\./, ''), value === null ? null : String(value)])))
      .sort((x, y) => (`${x.k}|${x.id!.padStart(5)}` < `${y.k}|${y.id!.padStart(5)}` ? -1 : 1));
  /** Until a materialization holds every change the table has: the snapshot's watermark is its highest _seq. */
  const settled = async (daemon: RunningDaemon): Promise<string> => {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const snapshot = await catalog.getTable(tag, 't_snapshot');
      const [top] = await user.query(`SELECT max(\`_seq\`) AS s FROM \`${tag}\`.\`t\``);
      const watermark = snapshot && snapshotWatermark(snapshot);
      if (watermark !== undefined && String(watermark) === String(Object.values(top ?? {})[0])) return snapshot!.location;
      if (Date.now() > deadline) throw new Error(`no materialization caught up: snapshot ${snapshot?.location}, max _seq ${JSON.stringify(top)}\n${daemon.output().slice(-6000)}`);
      await sleep(1000);
    }
  };
  try {
    await db.query(`ALTER TABLE ${tag}.t ADD COLUMN extra VARCHAR(10)`);
    let first = '';
    await withDaemon(workspace, server, async (daemon) => {
      const t = `${tag}.t`;
      await db.query(`INSERT INTO ${t} VALUES (1, 'a', 'one', NULL), (2, 'a', 'two', NULL), (1, 'b', 'b-one', NULL), (3, 'a', 'three', NULL)`);
      await db.query(`UPDATE ${t} SET v = 'one!' WHERE id = 1 AND k = 'a'`);
      await db.query(`DELETE FROM ${t} WHERE id = 2`);
      await waitForCheckpoint(workspace, await gtidBinlogPos(server), 120_000, daemon);
      first = await settled(daemon);
      await db.query(`TRUNCATE TABLE ${t}`);
      await db.query(`INSERT INTO ${t} VALUES (1, 'a', 'again', NULL), (2, 'a', 'two again', NULL), (5, 'c', 'five', NULL)`);
      await db.query(`ALTER TABLE ${t} ADD COLUMN n INT`);
      await db.query(`INSERT INTO ${t} VALUES (6, 'c', 'six', 'x6', 60)`);
      await db.query(`UPDATE ${t} SET extra = 'x1', v = 'again!' WHERE id = 1`);
      await db.query(`DELETE FROM ${t} WHERE id = 5`);
      await waitForCheckpoint(workspace, await gtidBinlogPos(server), 120_000, daemon);
      const second = await settled(daemon);
      assert.notEqual(second, first, 'a second materialization swapped in a new location');
    });
    const view = await user.query(`SHOW CREATE TABLE \`${tag}\`.\`t_current\``);
    assert.match(JSON.stringify(view), /t_snapshot/, 'the view reads the snapshot');
    const [expected] = await db.query(`SELECT CAST(id AS CHAR) AS id, k, v, extra, CAST(n AS CHAR) AS n FROM ${tag}.t ORDER BY k, id`);
    const wanted = (expected as Record<string, unknown>[]).map((row) => ({ ...row }));
    assert.deepEqual(await rowsOf(`SELECT * FROM \`${tag}\`.\`t_current\``), wanted, 'the view: snapshot + the changes after it');
    assert.deepEqual(await rowsOf(`SELECT id, k, v, extra, n FROM \`${tag}\`.\`t_snapshot\``), wanted, 'the snapshot table itself');
    assert.equal(wanted.length, 3);
  } finally {
    await db.end();
    await catalog.close();
    await user.execute(`DROP DATABASE IF EXISTS \`${tag}\` CASCADE`).catch(() => undefined);
    await user.close();
  }
});
