// `/status` and `sluice status` against a running daemon: the figures after a known workload, a
// stopped table with its code, the text screen and --json, and the screen once the daemon is down.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageVersion } from '../src/cli/version.ts';
import type { DaemonStatusReport } from '../src/runtime/daemon-status.ts';
import { ENDPOINT_FILE } from '../src/runtime/status-endpoint.ts';
import { gtidBinlogPos, latestCheckpoint, makeWorkspace, metricsPort, startDaemon, startSluice, stopDaemon, until, waitForCheckpoint, type DaemonWorkspace } from './helpers/daemon.ts';
import { testMariaDb } from './helpers/servers.ts';

async function sluiceStatus(workspace: DaemonWorkspace, password: string, ...args: string[]): Promise<{ code: number | null; output: string }> {
  const run = startSluice(['status', '--config', workspace.configFile, ...args], { cwd: workspace.dir, env: { SLUICE_TEST_PASSWORD: password } });
  const { code } = await run.exited;
  return { code, output: run.output() };
}

test('/status and `sluice status` show a running daemon: position, figures, a stopped table with its code; down, the last checkpoint and exit 3', { timeout: 180_000 }, async () => {
  const server = await testMariaDb();
  const db = await server.rootConnection();
  const tag = `st${Date.now() % 1_000_000}`;
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t (id INT PRIMARY KEY, v VARCHAR(20)); CREATE TABLE ${tag}.bad (id INT PRIMARY KEY, d DECIMAL(38,0))`);
  const start = await gtidBinlogPos(server);
  const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']`, intervalSeconds: 0.3 });
  const daemon = startDaemon(workspace, server);
  let exit;
  try {
    const port = await metricsPort(daemon);
    const status = async (): Promise<DaemonStatusReport> => (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as DaemonStatusReport;

    await db.query(`INSERT INTO ${tag}.t VALUES (1, 'a'), (2, 'b'), (3, 'c'); UPDATE ${tag}.t SET v = 'z' WHERE id = 1; INSERT INTO ${tag}.bad VALUES (1, 12345678901234567890)`);
    // bad's row is committed before the change that stops it, so its count is the rows it holds.
    await waitForCheckpoint(workspace, await gtidBinlogPos(server), 30_000, daemon);
    // No Hive decimal holds 20 integer digits and 10 decimals: bad stops, t goes on.
    await db.query(`ALTER TABLE ${tag}.bad MODIFY d DECIMAL(38,10)`);
    await db.query(`INSERT INTO ${tag}.bad VALUES (2, 1.5)`);
    const end = await gtidBinlogPos(server);
    await waitForCheckpoint(workspace, end, 30_000, daemon);
    // The record lands before its commits; the figures follow once they are done.
    const report = await until('a /status that names the last checkpoint and the stopped table', daemon, async () => {
      const [now, record] = [await status(), await latestCheckpoint(workspace)];
      return now.lastCheckpoint?.id === record?.id && now.tables.some((table) => table.state === 'stopped') ? now : undefined;
    });

    assert.equal(report.version, packageVersion());
    assert.equal(report.pid, daemon.child.pid);
    assert.deepEqual(report.source, { kind: 'mariadb', server: `127.0.0.1:${server.port}`, version: report.source?.version });
    assert.match(report.source!.version, /MariaDB/i);
    assert.match(report.position!, new RegExp(`^[\\w.-]+:\\d+ \\(GTID ${end}\\)$`), 'the committed position, as people read it');
    assert.equal(report.changesRead, 5, '4 changes of t and the one of bad before it stopped');
    assert.ok(report.changesPerSecond > 0, `changes/s over the last minute: ${report.changesPerSecond}`);
    assert.ok(report.lagSeconds >= 0);
    assert.ok(report.lastCheckpoint!.ageSeconds >= 0 && report.lastCheckpoint!.durationMs >= 0);
    assert.ok(Date.parse(report.lastCheckpoint!.at) <= Date.now());
    assert.deepEqual(report.errors, { SLUICE_SCHEMA_UNSUPPORTED: 1 });
    assert.equal(report.ready, false);
    assert.match(report.notReadyReason!, new RegExp(`${tag}\\.bad \\(SLUICE_SCHEMA_UNSUPPORTED\\)`));
    assert.deepEqual(report.compaction, { enabled: true, due: false, running: false }, 'on by default, not run yet: no partition is closed');
    assert.equal(report.snapshot, undefined);
    assert.equal(report.tables.length, 2);
    const [bad, t] = report.tables;
    assert.deepEqual(t, { table: `${tag}.t`, rowsWritten: 4, state: 'running' });
    assert.equal(bad!.table, `${tag}.bad`);
    assert.equal(bad!.rowsWritten, 1);
    assert.equal(bad!.state, 'stopped');
    assert.equal(bad!.stopped!.code, 'SLUICE_SCHEMA_UNSUPPORTED');
    assert.match(bad!.stopped!.message, /decimal\(38,10\)/);
    assert.match(bad!.stopped!.since, /GTID 0-1-\d+/);

    const screen = await sluiceStatus(workspace, server.password);
    assert.equal(screen.code, 0, screen.output);
    assert.match(screen.output, new RegExp(`^sluice ${packageVersion().replaceAll('.', '\\.')}, running \\(pid ${daemon.child.pid}\\), up .+, not ready: `));
    assert.match(screen.output, /^ {2}source: +mariadb .+ at 127\.0\.0\.1:\d+$/m);
    assert.match(screen.output, new RegExp(`^  committed up to: +[\\w.-]+:\\d+ \\(GTID ${end}\\)$`, 'm'));
    assert.match(screen.output, /^ {2}changes\/s: +[\d.]+ over the last minute \(5 change\(s\) since the start\)$/m);
    assert.match(screen.output, new RegExp(`^  last checkpoint: #${report.lastCheckpoint!.id} at \\S+, .+ ago, took \\d+ ms$`, 'm'));
    assert.match(screen.output, /^ {2}errors: +SLUICE_SCHEMA_UNSUPPORTED 1$/m);
    assert.match(screen.output, /^ {2}compaction: +idle; no run yet$/m);
    assert.match(screen.output, new RegExp(`^    ${tag}\\.t +4 +running$`, 'm'));
    assert.match(screen.output, new RegExp(`^    ${tag}\\.bad +1 +stopped SLUICE_SCHEMA_UNSUPPORTED at \\S+, holds every change before \\S+ \\(GTID 0-1-\\d+\\)\\n +column d of ${tag}\\.bad is decimal\\(38,0\\) in Hive`, 'm'));

    const json = await sluiceStatus(workspace, server.password, '--json');
    assert.equal(json.code, 0, json.output);
    const parsed = JSON.parse(json.output) as DaemonStatusReport;
    assert.deepEqual(parsed.tables, report.tables);
    assert.equal(parsed.position, report.position);
    assert.deepEqual(parsed.errors, report.errors);
  } finally {
    exit = await stopDaemon(daemon);
    await db.end();
  }
  assert.equal(exit.code, 0, daemon.output().slice(-2000));
  assert.equal(existsSync(join(workspace.stateDir, ENDPOINT_FILE)), false, 'a stopped daemon leaves no endpoint behind');

  const record = (await latestCheckpoint(workspace))!;
  const down = await sluiceStatus(workspace, server.password);
  assert.equal(down.code, 3, down.output);
  assert.match(down.output, /^sluice is not running \(no daemon holds .+, checkpoint\.dir\); it resumes from:$/m);
  assert.match(down.output, new RegExp(`^checkpoint ${record.id} in `, 'm'));
  assert.match(down.output, new RegExp(`stopped table: +${tag}\\.bad since .*SLUICE_SCHEMA_UNSUPPORTED`));
  const downJson = await sluiceStatus(workspace, server.password, '--json');
  assert.equal(downJson.code, 3, downJson.output);
  const parsed = JSON.parse(downJson.output) as { running: boolean; checkpoint: { id: number } };
  assert.equal(parsed.running, false);
  assert.equal(parsed.checkpoint.id, record.id);
});

test('/status and `sluice status` show the snapshot: tables done, rows read', { timeout: 120_000 }, async () => {
  const server = await testMariaDb();
  const db = await server.rootConnection();
  const tag = `ss${Date.now() % 1_000_000}`;
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.a (id INT PRIMARY KEY); CREATE TABLE ${tag}.b (id INT PRIMARY KEY)`);
  await db.query(`INSERT INTO ${tag}.a VALUES ${Array.from({ length: 20 }, (_, index) => `(${index + 1})`).join(', ')}; INSERT INTO ${tag}.b VALUES (1), (2), (3), (4), (5)`);
  await db.end();
  const workspace = makeWorkspace(server, { start: 'earliest', routing: `  include: ['${tag}.*']`, intervalSeconds: 0.2, extra: 'snapshot:\n  mode: initial\n  chunkRows: 4\n' });
  const daemon = startDaemon(workspace, server);
  let exit;
  try {
    const port = await metricsPort(daemon);
    const report = await until('a /status with the snapshot done', daemon, async () => {
      const now = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as DaemonStatusReport;
      return now.snapshot?.done === 2 && now.tables.length === 2 ? now : undefined;
    });
    assert.deepEqual(report.snapshot, { tables: 2, done: 2, rows: 25 });
    assert.deepEqual(
      report.tables.map((table) => [table.table, table.rowsWritten, table.state]),
      [
        [`${tag}.a`, 20, 'running'],
        [`${tag}.b`, 5, 'running'],
      ],
    );
    const screen = await sluiceStatus(workspace, server.password);
    assert.equal(screen.code, 0, screen.output);
    assert.match(screen.output, /^ {2}snapshot: +2 of 2 table\(s\) done, 25 row\(s\) read$/m);
  } finally {
    exit = await stopDaemon(daemon);
  }
  assert.equal(exit.code, 0, daemon.output().slice(-2000));
});
