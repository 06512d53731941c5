// An UPDATE that changes a row's primary key, through the daemon on the real MariaDB into the embedded
// default: the sink writes it as the old key's delete and the new key's update with one `_seq`
// (src/sinks/key-move.ts), so the current state has no trace of the old key. Single and composite
// keys, moves back and forth within a transaction and within a checkpoint, several rows per
// statement, a case-only key change; a materialization between the two phases, so that the second
// moves keys the snapshot holds. `sluice query --current` (snapshot + changes), the view over the
// whole history and the snapshot table all equal the source tables row by row.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { queryWarehouse } from '../src/cli/query.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { gtidBinlogPos, makeWorkspace, startSluice, waitForCheckpoint, withDaemon, type DaemonWorkspace } from './helpers/daemon.ts';
import { keyChangeSource, keyChangeTables, runKeyChanges, sortRows } from './helpers/key-changes.ts';
import { testMariaDb } from './helpers/servers.ts';
import { changesOf } from './helpers/stopped-changes.ts';

async function materialize(workspace: DaemonWorkspace, password: string): Promise<string> {
  const run = startSluice(['materialize', '--config', workspace.configFile], { cwd: workspace.dir, env: { SLUICE_TEST_PASSWORD: password } });
  const exit = await run.exited;
  assert.equal(exit.code, 0, run.output());
  return run.output();
}

test('a primary key changed by UPDATE leaves no trace of the old key in the current state, the view or the snapshot', { timeout: 240_000 }, async () => {
  const server = await testMariaDb();
  const db = await server.rootConnection();
  const tag = `kc${Date.now() % 1_000_000}`;
  try {
    await db.query(`CREATE DATABASE ${tag}; ${keyChangeTables(tag)}`);
    const start = await gtidBinlogPos(server);
    const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']`, intervalSeconds: 0.3 });
    for (const phase of [0, 1]) {
      const { exit, daemon } = await withDaemon(workspace, server, async (daemon) => {
        await runKeyChanges(db, tag, phase);
        await waitForCheckpoint(workspace, await gtidBinlogPos(server), 60_000, daemon);
      });
      assert.equal(exit.code, 0, daemon.output().slice(-3000));
      if (phase === 0) assert.match(await materialize(workspace, server.password), /one_snapshot: 6 rows/);
    }

    // The changelog: a key move is the old key's delete and the new key's update, one _seq for both.
    const changes = await changesOf(workspace, tag, 'one');
    assert.deepEqual(changes.slice(5, 9), ['delete 1 a', 'update 10 a', 'delete 2 b', 'update 20 b!']);
    const catalog = new LocalCatalog(workspace.catalogDir);
    const fs = new LocalFileSystem(workspace.warehouse);
    const seqs = await queryWarehouse({ catalog, fs, sql: `SELECT _op, id, _seq FROM ${tag}.one WHERE _seq = (SELECT min(_seq) FROM ${tag}.one WHERE _op = 'delete')` });
    assert.deepEqual(sortRows(seqs.rows.map((row) => row.map(String))).map((row) => row.slice(0, 2)), [['delete', '1'], ['update', '10']], 'one _seq for the delete and the update');

    for (const table of ['one', 'two'] as const) {
      const source = await keyChangeSource(db, tag, table);
      const current = await queryWarehouse({ catalog, fs, current: `${tag}.${table}` });
      assert.deepEqual(sortRows(current.rows as string[][]), source, `${table}: --current (the snapshot and the changes after it) = the source`);
      const wholeHistory = await queryWarehouse({ catalog, fs, sql: `SELECT * FROM ${tag}.${table}_current`, snapshotSuffix: '_none' });
      assert.deepEqual(sortRows(wholeHistory.rows as string[][]), source, `${table}: the view over the whole history = the source`);
    }
    assert.match(await materialize(workspace, server.password), /one_snapshot: 5 rows/);
    for (const table of ['one', 'two'] as const) {
      const columns = table === 'one' ? 'id, v' : 'k, id, v';
      const snapshot = await queryWarehouse({ catalog: new LocalCatalog(workspace.catalogDir), fs, sql: `SELECT ${columns} FROM ${tag}.${table}_snapshot` });
      assert.deepEqual(sortRows(snapshot.rows as string[][]), await keyChangeSource(db, tag, table), `${table}: the snapshot table = the source`);
    }
  } finally {
    await db.query(`DROP DATABASE IF EXISTS ${tag}`).catch(() => undefined);
    await db.end();
  }
});
