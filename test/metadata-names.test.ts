// Renamed metadata columns (sink.metadataColumns, routing.rules[].metadataColumns; docs/row-format.md):
// the config refuses names that need backticks or clash, naming the key; through the daemon on the
// real MariaDB into the embedded default, tables are created with the configured names (a rule's own
// names for its table), the names are recorded with each table, and every reader (`sluice query`
// and its order, `--current` and `_current`, the materialization and its snapshot, compaction's
// choice of tables) uses them; a source column of a metadata column's name stops its table, naming
// the key; and a config that renames the columns of an existing table is refused, naming table and key.
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { queryWarehouse } from '../src/cli/query.ts';
import { parseConfig } from '../src/config/load.ts';
import { isSluiceError, type SluiceError } from '../src/core/errors.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { isChangelogTable } from '../src/sinks/compaction-plan.ts';
import { exitWithin, fatalLine, gtidBinlogPos, latestCheckpoint, makeWorkspace, startDaemon, startSluice, waitForCheckpoint, withDaemon } from './helpers/daemon.ts';
import { keyChangeSource, sortRows } from './helpers/key-changes.ts';
import { testMariaDb } from './helpers/servers.ts';

const minimal = 'source:\n  host: db.example\n  user: sluice\n';

function configError(yaml: string): SluiceError {
  try {
    parseConfig(minimal + yaml, '/etc/sluice/sluice.yaml', {});
  } catch (error) {
    assert.ok(isSluiceError(error, 'SLUICE_CONFIG_INVALID'), String(error));
    return error;
  }
  assert.fail(`accepted:\n${yaml}`);
}

test('config: metadata column names must be Hive identifiers that need no backticks, apart from each other and the partition columns', () => {
  assert.match(configError('sink:\n  metadataColumns:\n    op: _op2\n').message, /sink\.metadataColumns\.op.*'_op2' is not a Hive identifier that needs no backticks/s);
  assert.match(configError('sink:\n  metadataColumns:\n    seq: Seq\n').message, /sink\.metadataColumns\.seq/);
  assert.match(configError('sink:\n  metadataColumns:\n    op: select\n').message, /sink\.metadataColumns\.op.*'select' is a reserved word in HiveQL/s);
  assert.match(configError('sink:\n  metadataColumns:\n    op: change\n    seq: change\n').message, /sink\.metadataColumns\.seq.*'change' is also the name of the op column/s);
  assert.match(configError('sink:\n  metadataColumns:\n    seq: dt\n').message, /sink\.metadataColumns\.seq.*'dt' is the partition column \(sink\.dayColumn\)/s);
  assert.match(configError('sink:\n  metadataColumns:\n    nope: x\n').message, /sink\.metadataColumns/);
  // A rule's names are checked with the sink's they fall back on.
  const rule = configError("sink:\n  metadataColumns:\n    op: change_op\nrouting:\n  rules:\n    - match: 'a\\.b'\n      target: ods.b\n      metadataColumns:\n        seq: change_op\n");
  assert.match(rule.message, /routing\.rules\[0\]\.metadataColumns\.seq.*'change_op' is also the name of the op column/s);
  const fine = parseConfig(minimal + 'sink:\n  metadataColumns:\n    op: change_op\n    seq: change_seq\n', '/etc/sluice/sluice.yaml', {});
  assert.deepEqual(fine.sink.metadataColumns, { op: 'change_op', seq: 'change_seq' });
});

const SINK_NAMES = '  metadataColumns:\n    op: change_op\n    eventTime: change_time\n    position: change_position\n    seq: change_seq\n    source: change_source\n';

test('renamed metadata columns through the daemon: recorded with each table, read by every reader; clashes and renames of existing tables refused', { timeout: 240_000 }, async () => {
  const server = await testMariaDb();
  const db = await server.rootConnection();
  const tag = `mn${Date.now() % 1_000_000}`;
  try {
    await db.query(
      `CREATE DATABASE ${tag}; ` +
        `CREATE TABLE ${tag}.one (id INT NOT NULL PRIMARY KEY, v VARCHAR(20)); ` +
        `CREATE TABLE ${tag}.r (id INT NOT NULL PRIMARY KEY, v VARCHAR(20)); ` +
        `CREATE TABLE ${tag}.clash (id INT NOT NULL PRIMARY KEY, change_op VARCHAR(20))`,
    );
    const start = await gtidBinlogPos(server);
    const routing = `  include: ['${tag}.*']\n  rules:\n    - match: '^${tag}\\.r$'\n      target: ${tag}.r\n      metadataColumns:\n        seq: r_seq\n        op: r_op\n    - match: '^${tag}\\.(one|clash)$'\n      target: ${tag}.$1\n`;
    const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing, intervalSeconds: 0.3, sinkExtra: SINK_NAMES });
    const { exit, daemon } = await withDaemon(workspace, server, async (daemon) => {
      await db.query(`USE ${tag}`);
      for (const table of ['one', 'r']) {
        await db.query(`INSERT INTO ${table} VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
        await db.query(`UPDATE ${table} SET v = 'b!' WHERE id = 2`);
        await db.query(`UPDATE ${table} SET id = 30 WHERE id = 3`);
        await db.query(`DELETE FROM ${table} WHERE id = 1`);
      }
      await db.query(`TRUNCATE TABLE one`);
      await db.query(`INSERT INTO one VALUES (4, 'd'), (5, 'e')`);
      await db.query(`UPDATE one SET id = 6 WHERE id = 5`);
      await db.query(`INSERT INTO clash VALUES (1, 'x')`);
      await waitForCheckpoint(workspace, await gtidBinlogPos(server), 60_000, daemon);
    });
    assert.equal(exit.code, 0, daemon.output().slice(-3000));

    // The table whose source has a column of a metadata column's name stopped alone, naming the key.
    const stopped = (await latestCheckpoint(workspace))?.tables?.stopped?.[`${tag}.clash`];
    assert.equal(stopped?.code, 'SLUICE_SCHEMA_UNSUPPORTED');
    assert.match(stopped!.message, /source column 'change_op' .* the metadata column sluice adds as sink\.metadataColumns\.op/);

    const catalog = new LocalCatalog(workspace.catalogDir);
    const fs = new LocalFileSystem(workspace.warehouse);
    const one = (await catalog.getTable(tag, 'one'))!;
    assert.deepEqual(one.columns.map((column) => column.name), ['id', 'v', 'change_op', 'change_time', 'change_position', 'change_seq', 'change_source']);
    assert.deepEqual(one.metadataNames, { op: 'change_op', eventTime: 'change_time', position: 'change_position', seq: 'change_seq', source: 'change_source' });
    const r = (await catalog.getTable(tag, 'r'))!;
    assert.deepEqual(r.columns.map((column) => column.name), ['id', 'v', 'r_op', 'change_time', 'change_position', 'r_seq', 'change_source'], "the rule's names, the sink's for the rest");
    assert.ok(isChangelogTable(one) && isChangelogTable(r), 'compaction takes them for changelog tables');

    // sluice query orders a table by its sequence column; the current state, the view and the snapshot read the names.
    const table = await queryWarehouse({ catalog, fs, table: `${tag}.one` });
    const seqs = table.rows.map((row) => Number(row[table.columns.indexOf('change_seq')]));
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'ordered by change_seq');
    assert.deepEqual(table.rows.map((row) => row[table.columns.indexOf('change_op')]).slice(-4), ['insert', 'insert', 'delete', 'update']);
    const expected = { one: [['4', 'd'], ['6', 'e']], r: [['2', 'b!'], ['30', 'c']] };
    for (const name of ['one', 'r'] as const) {
      const current = await queryWarehouse({ catalog, fs, current: `${tag}.${name}` });
      assert.deepEqual(current.columns, ['id', 'v'], `${name}: the source columns only`);
      assert.deepEqual(sortRows(current.rows as string[][]), expected[name], `${name}: --current`);
      assert.deepEqual(sortRows((await queryWarehouse({ catalog, fs, sql: `SELECT * FROM ${tag}.${name}_current` })).rows as string[][]), expected[name], `${name}: _current`);
    }
    const materialized = startSluice(['materialize', '--config', workspace.configFile], { cwd: workspace.dir, env: { SLUICE_TEST_PASSWORD: server.password } });
    assert.equal((await materialized.exited).code, 0, materialized.output());
    assert.match(materialized.output(), new RegExp(`${tag}\\.one_snapshot: 2 rows[\\s\\S]*${tag}\\.r_snapshot: 2 rows`));
    const fresh = new LocalCatalog(workspace.catalogDir);
    assert.deepEqual((await fresh.getTable(tag, 'r_snapshot'))?.metadataNames, r.metadataNames, 'the snapshot records the names too');
    for (const name of ['one', 'r'] as const) {
      assert.deepEqual(sortRows((await queryWarehouse({ catalog: fresh, fs, current: `${tag}.${name}` })).rows as string[][]), expected[name], `${name}: --current over the snapshot`);
    }
    assert.deepEqual(await keyChangeSource(db, tag, 'one'), expected.one, 'the source agrees');

    // The names of existing tables changed in the config: refused, naming the table and the key.
    writeFileSync(workspace.configFile, readFileSync(workspace.configFile, 'utf8').replace('seq: change_seq', 'seq: other_seq'));
    const renamed = startDaemon(workspace, server);
    await db.query(`INSERT INTO ${tag}.one VALUES (7, 'g')`);
    await exitWithin(renamed, 60_000, 'a config renaming the metadata columns of an existing table stops the daemon');
    const fatal = fatalLine(renamed);
    assert.equal(fatal.code, 'SLUICE_METADATA_NAMES_CHANGED');
    assert.match(fatal.msg, new RegExp(`table ${tag}\\.one was created with the metadata columns change_op, change_time, change_position, change_seq, change_source, and sink\\.metadataColumns now names seq 'other_seq' \\(the table has 'change_seq'\\)`));
    assert.deepEqual((await new LocalCatalog(workspace.catalogDir).getTable(tag, 'one'))?.columns.map((column) => column.name).slice(2), ['change_op', 'change_time', 'change_position', 'change_seq', 'change_source'], 'the table is as it was');
  } finally {
    await db.query(`DROP DATABASE IF EXISTS ${tag}`).catch(() => undefined);
    await db.end();
  }
});
