// The snapshot's progress as a log pipeline and a script see it (docs/snapshot.md, Progress): the
// JSON log line of a table's start carries the server's row estimate, its done line the rows,
// estimatedRows and etaSeconds; and `sluice checkpoint show --json` keeps format 1's keys and adds
// the snapshot's progress (`sources.snapshot`) as the record holds it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exitWithin, latestCheckpoint, makeWorkspace, startDaemon, startSluice } from './helpers/daemon.ts';
import { testMariaDb } from './helpers/servers.ts';
import { snapshotState } from './helpers/snapshot-check.ts';

test('snapshot progress: the estimate and ETA fields in the JSON log, and sources.snapshot in checkpoint show --json', { timeout: 120_000 }, async () => {
  const server = await testMariaDb();
  const tag = `snapprog${Date.now() % 1_000_000}`;
  const setup = await server.rootConnection(undefined);
  await setup.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t (id INT PRIMARY KEY, v VARCHAR(20))`);
  await setup.query(`INSERT INTO ${tag}.t VALUES ?`, [Array.from({ length: 300 }, (_, n) => [n + 1, `v${n}`])]);
  // Fresh statistics, so that the server has an estimate to give (InnoDB's TABLE_ROWS).
  await setup.query(`ANALYZE TABLE ${tag}.t`);
  await setup.end();
  const workspace = makeWorkspace(server, { start: 'latest', routing: `  include: ['${tag}.*']`, extra: 'snapshot:\n  mode: initial_only\n  chunkRows: 40\n' });
  const daemon = startDaemon(workspace, server);
  assert.equal(await exitWithin(daemon, 60_000, 'initial_only stops once every table is read'), 0, daemon.output().slice(-3000));

  const lines = daemon
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.table === `${tag}.t`);
  const reading = lines.find((line) => line.msg === 'snapshot: reading table');
  assert.ok(reading, daemon.output().slice(-3000));
  assert.ok(typeof reading.estimatedRows === 'number' && reading.estimatedRows > 0, `an estimate from the server: ${JSON.stringify(reading)}`);
  const done = lines.find((line) => line.done === true);
  assert.ok(done, daemon.output().slice(-3000));
  assert.equal(done.msg, `snapshot of ${tag}.t done: 300 rows`);
  assert.equal(done.rows, 300);
  assert.equal(done.estimatedRows, 300, 'once done, the rows read are the total');
  assert.equal(done.etaSeconds, 0);
  assert.equal(typeof done.rowsPerSecond, 'number');

  const shown = startSluice(['checkpoint', 'show', '--config', workspace.configFile, '--json'], { cwd: workspace.dir, env: { SLUICE_TEST_PASSWORD: server.password } });
  assert.equal((await shown.exited).code, 0, shown.output());
  const json = JSON.parse(shown.output()) as Record<string, unknown> & { sources?: { snapshot?: unknown } };
  const { sources, ...formatOne } = json;
  assert.deepEqual(formatOne, await latestCheckpoint(workspace), "format 1's keys, as before");
  assert.deepEqual(sources, { snapshot: await snapshotState(workspace) }, 'the snapshot as the record holds it');
  assert.deepEqual((sources?.snapshot as { position: { tables: Record<string, unknown> } }).position.tables, { [`${tag}.t`]: { rows: 300, after: ['300'], until: ['300'], done: true } });
});
