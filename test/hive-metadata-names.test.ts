// Renamed metadata columns through the real HDFS and HiveServer2 (sink.metadataColumns,
// docs/row-format.md#renamed-metadata-columns): the table is created with the configured names and
// the table property sluice.metadata.columns; HiveQL names them without backticks; the current-state
// view `<table>_current` ranks by them and equals the source table row by row, key changes included;
// and the catalog reads the names back from the property.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HiveConnection } from '../src/catalog/hive-connection.ts';
import { HiveServer2Catalog } from '../src/catalog/hive-server2-catalog.ts';
import { gtidBinlogPos, makeWorkspace, waitForCheckpoint, withDaemon } from './helpers/daemon.ts';
import { hiveStorageYaml } from './helpers/hive-storage.ts';
import { keyChangeSource, keyChangeTables, runKeyChanges, sortRows } from './helpers/key-changes.ts';
import { testHdfs, testHiveServer2, testMariaDb } from './helpers/servers.ts';

const NAMES = { op: 'change_op', eventTime: 'change_time', position: 'change_position', seq: 'change_seq', source: 'change_source' };

test('HiveServer2: renamed metadata columns, queried without backticks; <table>_current ranks by them', { timeout: 600_000 }, async () => {
  const server = await testMariaDb();
  const hdfs = await testHdfs();
  const hive = await testHiveServer2();
  const tag = `mn${process.pid}_${Date.now() % 1_000_000}`;
  const db = await server.rootConnection();
  await db.query(`CREATE DATABASE ${tag}; ${keyChangeTables(tag)}`);
  const start = await gtidBinlogPos(server);
  const storage = hiveStorageYaml(hdfs, hive, `/sluice-names/${tag}`).join('\n');
  const sinkExtra = `  metadataColumns:\n${Object.entries(NAMES).map(([role, name]) => `    ${role}: ${name}`).join('\n')}\n`;
  const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']`, storage, sinkExtra, intervalSeconds: 0.5 });
  const user = new HiveConnection({ host: hive.host, port: hive.port, authentication: hive.authentication, connectTimeoutMs: 20_000, statementTimeoutMs: 300_000 });
  try {
    const { exit, daemon } = await withDaemon(workspace, server, async (daemon) => {
      for (const phase of [0, 1]) {
        await runKeyChanges(db, tag, phase);
        await waitForCheckpoint(workspace, await gtidBinlogPos(server), 120_000, daemon);
      }
    });
    assert.equal(exit.code, 0, daemon.output().slice(-3000));

    const described = (await user.query(`DESCRIBE ${tag}.one`)).map((row) => String(row.col_name).trim());
    assert.deepEqual(described.slice(0, 7), ['id', 'v', ...Object.values(NAMES)]);
    // No backticks: the point of the names.
    const ops = await user.query(`SELECT change_op, count(*) AS n FROM ${tag}.one WHERE change_seq > 0 GROUP BY change_op`);
    const counts = Object.fromEntries(ops.map((row) => Object.values(row).map(String) as [string, string]));
    assert.ok(Number(counts.delete) > 0 && Number(counts.update) > 0 && Number(counts.insert) > 0, JSON.stringify(counts));

    const catalog = new HiveServer2Catalog({ host: hive.host, port: hive.port, authentication: hive.authentication, fsDefaultFS: hdfs.fsDefaultFS });
    try {
      assert.deepEqual((await catalog.getTable(tag, 'one'))?.metadataNames, NAMES, 'read back from the table property');
    } finally {
      await catalog.close();
    }
    for (const table of ['one', 'two'] as const) {
      const view = await user.query(`SELECT * FROM ${tag}.${table}_current`);
      assert.deepEqual(Object.keys(view[0] ?? {}).map((name) => name.replace(/^.*\./, '')), table === 'one' ? ['id', 'v'] : ['k', 'id', 'v'], 'the source columns only');
      const rows = view.map((row) => Object.values(row).map((value) => (value === null ? null : String(value))));
      assert.deepEqual(sortRows(rows as string[][]), await keyChangeSource(db, tag, table), `${table}_current`);
    }
  } finally {
    await db.end();
    await user.execute(`DROP DATABASE IF EXISTS \`${tag}\` CASCADE`).catch(() => undefined);
    await user.close();
  }
});
