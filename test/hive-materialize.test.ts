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

/**
 * A source database `tag` made by `ddl`, a daemon workspace that captures it into Hive on HDFS
 * (`format`) and materializes every 3 s, and a HiveServer2 connection and catalog to read it back.
 */
async function materializing(tag: string, ddl: string, format?: 'parquet') {
  const server = await testMariaDb();
  const hdfs = await testHdfs();
  const hive = await testHiveServer2();
  const db = await server.rootConnection();
  await db.query(`CREATE DATABASE ${tag}; ${ddl}`);
  const start = await gtidBinlogPos(server);
  const storage = [...hiveStorageYaml(hdfs, hive, `/sluice-materialize/${tag}`), ...(format ? [`  format: ${format}`] : [])].join('\n');
  const workspace = makeWorkspace(server, {
    start: `{ gtid: '${start}' }`,
    routing: `  include: ['${tag}.*']`,
    storage,
    intervalSeconds: 0.5,
    sinkExtra: `  materialize:\n    enabled: true\n    schedule: '*/3 * * * * *'\n`,
  });
  const user = new HiveConnection({ host: hive.host, port: hive.port, authentication: hive.authentication, connectTimeoutMs: 20_000, statementTimeoutMs: 300_000 });
  const catalog = new HiveServer2Catalog({ host: hive.host, port: hive.port, authentication: hive.authentication, fsDefaultFS: hdfs.fsDefaultFS });
  /** Until a materialization of `table` holds every change it has (the snapshot's watermark is its highest _seq): the snapshot's location. */
  const settled = async (table: string, daemon: RunningDaemon): Promise<string> => {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const snapshot = await catalog.getTable(tag, `${table}_snapshot`);
      const [top] = await user.query(`SELECT max(\`_seq\`) AS s FROM \`${tag}\`.\`${table}\``);
      const watermark = snapshot && snapshotWatermark(snapshot);
      if (watermark !== undefined && String(watermark) === String(Object.values(top ?? {})[0])) return snapshot!.location;
      if (Date.now() > deadline) throw new Error(`no materialization caught up: snapshot ${snapshot?.location}, max _seq ${JSON.stringify(top)}\n${daemon.output().slice(-6000)}`);
      await sleep(1000);
    }
  };
  const close = async (): Promise<void> => {
    await db.end();
    await catalog.close();
    await user.execute(`DROP DATABASE IF EXISTS \`${tag}\` CASCADE`).catch(() => undefined);
    await user.close();
  };
  return { server, db, workspace, user, settled, close };
}

test('HiveServer2: t_snapshot swapped in by SET LOCATION, and t_current over it, equal the source table', { timeout: 900_000 }, async () => {
  const tag = `mz${process.pid}_${Date.now() % 1_000_000}`;
  const { server, db, workspace, user, settled, close } = await materializing(tag, `CREATE TABLE ${tag}.t (id INT, k VARCHAR(5), v VARCHAR(20), PRIMARY KEY (k, id))`);
  const rowsOf = async (sql: string): Promise<Record<string, string | null>[]> =>
    (await user.query(sql))
      .map((row) => Object.fromEntries(Object.entries(row).map(([name, value]) => [name.replace(/^.*\./, ''), value === null ? null : String(value)])))
      .sort((x, y) => (`${x.k}|${x.id!.padStart(5)}` < `${y.k}|${y.id!.padStart(5)}` ? -1 : 1));
  try {
    await db.query(`ALTER TABLE ${tag}.t ADD COLUMN extra VARCHAR(10)`);
    let first = '';
    await withDaemon(workspace, server, async (daemon) => {
      const t = `${tag}.t`;
      await db.query(`INSERT INTO ${t} VALUES (1, 'a', 'one', NULL), (2, 'a', 'two', NULL), (1, 'b', 'b-one', NULL), (3, 'a', 'three', NULL)`);
      await db.query(`UPDATE ${t} SET v = 'one!' WHERE id = 1 AND k = 'a'`);
      await db.query(`DELETE FROM ${t} WHERE id = 2`);
      await waitForCheckpoint(workspace, await gtidBinlogPos(server), 120_000, daemon);
      first = await settled('t', daemon);
      await db.query(`TRUNCATE TABLE ${t}`);
      await db.query(`INSERT INTO ${t} VALUES (1, 'a', 'again', NULL), (2, 'a', 'two again', NULL), (5, 'c', 'five', NULL)`);
      await db.query(`ALTER TABLE ${t} ADD COLUMN n INT`);
      await db.query(`INSERT INTO ${t} VALUES (6, 'c', 'six', 'x6', 60)`);
      await db.query(`UPDATE ${t} SET extra = 'x1', v = 'again!' WHERE id = 1`);
      await db.query(`DELETE FROM ${t} WHERE id = 5`);
      await waitForCheckpoint(workspace, await gtidBinlogPos(server), 120_000, daemon);
      const second = await settled('t', daemon);
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
    await close();
  }
});

test('HiveServer2, Parquet: the DuckDB-written snapshot of DECIMAL, DATETIME and text columns reads back through Hive as the source holds them', { timeout: 900_000 }, async () => {
  const tag = `mzp${process.pid}_${Date.now() % 1_000_000}`;
  const ddl = `CREATE TABLE ${tag}.p (id INT PRIMARY KEY, d DECIMAL(12,3), big DECIMAL(30,10), ts DATETIME(6), day DATE, v VARCHAR(20), n BIGINT)`;
  const { server, db, workspace, user, settled, close } = await materializing(tag, ddl, 'parquet');
  const columns = ['id', 'd', 'big', 'ts', 'day', 'v', 'n'];
  // Hive prints a decimal padded to its scale and a timestamp without trailing zeros: the same values
  // in another spelling, so both sides lose trailing fraction zeros before they are compared.
  const spelling = (value: string | null): string | null => (value !== null && /^-?[\d :-]+\.\d+$/.test(value) ? value.replace(/0+$/, '').replace(/\.$/, '') : value);
  const rowsOf = async (sql: string): Promise<(string | null)[][]> =>
    (await user.query(sql))
      .map((row) => {
        const named = Object.fromEntries(Object.entries(row).map(([name, value]) => [name.replace(/^.*\./, ''), value === null ? null : String(value)]));
        return columns.map((column) => spelling(named[column] ?? null));
      })
      .sort((x, y) => Number(x[0]) - Number(y[0]));
  try {
    await withDaemon(workspace, server, async (daemon) => {
      const t = `${tag}.p`;
      await db.query(
        `INSERT INTO ${t} VALUES (1, 12.300, '12345678901234567890.0123456789', '2024-02-29 23:59:59.123456', '1999-12-31', 'one', 9007199254740993), ` +
          `(2, -0.005, '-0.0000000001', '1970-01-01 00:00:00.000001', '1000-01-01', 'two', -1), (3, 0, 0, '2038-01-19 03:14:08.000000', '9999-12-31', NULL, NULL)`,
      );
      await db.query(`UPDATE ${t} SET d = 99999999.999, ts = '2001-02-03 04:05:06.7' WHERE id = 1`);
      await db.query(`DELETE FROM ${t} WHERE id = 3`);
      await db.query(`INSERT INTO ${t} VALUES (4, NULL, NULL, NULL, NULL, 'four', 4)`);
      await waitForCheckpoint(workspace, await gtidBinlogPos(server), 120_000, daemon);
      await settled('p', daemon);
    });
    const [expected] = await db.query(
      `SELECT CAST(id AS CHAR) AS id, CAST(d AS CHAR) AS d, CAST(big AS CHAR) AS big, DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f') AS ts, CAST(day AS CHAR) AS day, v, CAST(n AS CHAR) AS n FROM ${tag}.p ORDER BY id`,
    );
    const wanted = (expected as Record<string, string | null>[]).map((row) => columns.map((column) => spelling(row[column] ?? null)));
    assert.equal(wanted.length, 3);
    // As text on Hive's side: hive-driver turns DECIMAL and BIGINT into JavaScript numbers.
    const select = columns.map((column) => `CAST(\`${column}\` AS STRING) AS \`${column}\``).join(', ');
    assert.deepEqual(await rowsOf(`SELECT ${select} FROM \`${tag}\`.\`p_snapshot\``), wanted, 'the Parquet snapshot table, read by Hive');
    assert.deepEqual(await rowsOf(`SELECT ${select} FROM \`${tag}\`.\`p_current\``), wanted, 'the view over it');
  } finally {
    await close();
  }
});
