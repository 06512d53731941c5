// Metrics and health endpoints of the running daemon, scraped as Prometheus would.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gtidBinlogPos, makeWorkspace, metricsPort, startDaemon, waitForCheckpoint, withDaemon } from './helpers/daemon.ts';
import { testMariaDb } from './helpers/servers.ts';

function sample(body: string, name: string): number {
  const line = body.split('\n').find((candidate) => candidate.startsWith(name + ' ') || candidate.startsWith(name + '{'));
  assert.ok(line, `metric ${name} is exported`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('metrics change as rows flow; /health and /ready answer', { timeout: 120_000 }, async () => {
  const server = await testMariaDb();
  const db = await server.rootConnection();
  const tag = `m${Date.now() % 1_000_000}`;
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t (id INT PRIMARY KEY, v VARCHAR(20)); CREATE TABLE ${tag}.skipped (id INT PRIMARY KEY)`);
  const start = await gtidBinlogPos(server);
  const workspace = makeWorkspace(server, {
    start: `{ gtid: '${start}' }`,
    routing: `  include: ['${tag}.*']\n  rules:\n    - match: '^${tag}\\.t$'\n      target: ods_${tag}.t`,
    intervalSeconds: 0.3,
  });
  const { daemon, exit } = await withDaemon(workspace, server, async (daemon) => {
    const port = await metricsPort(daemon);
    const base = `http://127.0.0.1:${port}`;
    assert.equal((await fetch(`${base}/health`)).status, 200);
    const deadline = Date.now() + 30_000;
    while ((await fetch(`${base}/ready`)).status !== 200) {
      assert.ok(Date.now() < deadline, `the daemon becomes ready: ${await (await fetch(`${base}/ready`)).text()}\n${daemon.output().slice(-1500)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const before = await (await fetch(`${base}/metrics`)).text();
    const checkpointsBefore = sample(before, 'sluice_checkpoints_total');
    await db.query(`INSERT INTO ${tag}.t VALUES (1, 'a'), (2, 'b'), (3, 'c'); UPDATE ${tag}.t SET v = 'z' WHERE id = 1; INSERT INTO ${tag}.skipped VALUES (1), (2)`);
    await waitForCheckpoint(workspace, await gtidBinlogPos(server), 30_000, daemon);
    // The record lands before the checkpoint's commits; the figures follow once they are done.
    let after = await (await fetch(`${base}/metrics`)).text();
    for (const settled = Date.now() + 10_000; sample(after, 'sluice_checkpoints_total') <= checkpointsBefore && Date.now() < settled; ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      after = await (await fetch(`${base}/metrics`)).text();
    }
    assert.equal(sample(after, `sluice_rows_written_total{table="ods_${tag}.t"}`), 4);
    assert.equal(sample(after, 'sluice_changes_read_total'), 4);
    assert.ok(sample(after, `sluice_bytes_written_total{table="ods_${tag}.t"}`) > 0);
    assert.equal(sample(after, `sluice_unmatched_changes_total{source="${tag}.skipped"}`), 2);
    assert.ok(sample(after, 'sluice_checkpoints_total') > checkpointsBefore);
    assert.ok(sample(after, 'sluice_last_checkpoint_timestamp_seconds') > Date.now() / 1000 - 60);
    assert.ok(sample(after, 'sluice_replication_lag_seconds') >= 0);
    assert.match(after, /sluice_checkpoint_duration_seconds_bucket/);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
  }).finally(() => db.end());
  assert.equal(exit.code, 0, daemon.output().slice(-2000));
});

test('a metrics port in use is named with its config key, and the daemon does not start', { timeout: 60_000 }, async () => {
  const { createServer } = await import('node:net');
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
  const port = (blocker.address() as { port: number }).port;
  const server = await testMariaDb();
  const workspace = makeWorkspace(server, { start: 'latest', routing: "  include: ['nothing.*']", extra: '' });
  const { readFileSync, writeFileSync } = await import('node:fs');
  writeFileSync(workspace.configFile, readFileSync(workspace.configFile, 'utf8').replace('  port: 0', `  port: ${port}`));
  const daemon = startDaemon(workspace, server);
  const exit = await daemon.exited;
  blocker.close();
  assert.equal(exit.code, 1);
  assert.match(daemon.output(), new RegExp(`cannot serve metrics on 127\\.0\\.0\\.1:${port} \\(metrics\\.host, metrics\\.port\\): EADDRINUSE`));
});
