// A stopped or crashed HDFS under the running daemon: reading slows down (back-pressure), memory
// stays bounded, and when HDFS is back the daemon goes on; the table ends exactly right.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { WebHdfsFileSystem } from '../src/filesystem/webhdfs-filesystem.ts';
import { pino } from 'pino';
import { ChangeGenerator } from './helpers/change-generator.ts';
import { assertSameStream } from './helpers/crash-scenario.ts';
import { gtidBinlogPos, makeWorkspace, metricsPort, waitForCheckpoint, withDaemon } from './helpers/daemon.ts';
import { testMariaDb } from './helpers/servers.ts';
import { bySequence, readCommittedRows } from './helpers/warehouse.ts';
import { startHdfs, type HdfsOptions, type HdfsServer } from './servers/jvm.ts';
import { freePort } from './servers/mariadb.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

test('HDFS paused (SIGSTOP) and killed and restarted under the daemon: bounded memory, nothing lost', { timeout: 300_000 }, async (t) => {
  const options: HdfsOptions = {
    dir: mkdtempSync(join(tmpdir(), 'sluice-hdfs-outage-')),
    ports: { namenodeRpc: await freePort(), namenodeHttp: await freePort(), datanode: await freePort(), datanodeHttp: await freePort() },
  };
  let hdfs: HdfsServer = await startHdfs(options);
  const namenode = `http://127.0.0.1:${hdfs.namenodeHttpPort}`;
  const server = await testMariaDb();
  const db = await server.rootConnection();
  const tag = `h${Date.now() % 1_000_000}`;
  const tables = [`${tag}_shop.orders`];
  await ChangeGenerator.createTables(db, tables);
  const start = await gtidBinlogPos(server);
  const workspace = makeWorkspace(server, {
    start: `{ gtid: '${start}' }`,
    routing: `  include: ['${tag}_shop.*']`,
    intervalSeconds: 0.3,
    storage: `  filesystem:\n    kind: webhdfs\n    namenodes: ['${namenode}']\n    warehouse: /warehouse\n    spoolDir: ./spool\n    requestTimeoutMs: 5000\n  catalog:\n    dir: ./catalog`,
    extra: 'runtime:\n  maxQueuedEvents: 2000\n',
  });
  const generator = new ChangeGenerator(db, tables, 7);
  await withDaemon(workspace, server, async (daemon) => {
    await metricsPort(daemon);
    for (let i = 0; i < 50; i++) await generator.randomTransaction();
    await waitForCheckpoint(workspace, await gtidBinlogPos(server), 60_000, daemon);

    // Paused: checkpoints stop, the reader is held back by the bounded queue, memory stays flat.
    process.kill(hdfs.pid, 'SIGSTOP');
    const before = rssMiB(daemon.child.pid!);
    await generator.largeTransaction(50_000);
    for (let i = 0; i < 50; i++) await generator.randomTransaction();
    let peak = before;
    for (let i = 0; i < 40; i++) {
      peak = Math.max(peak, rssMiB(daemon.child.pid!));
      await sleep(100);
    }
    t.diagnostic(`daemon RSS ${before.toFixed(0)} MiB before the pause, ${peak.toFixed(0)} MiB at most while HDFS was stopped`);
    assert.ok(peak - before < 128, `memory stays bounded while HDFS is stopped (grew ${(peak - before).toFixed(0)} MiB)`);
    process.kill(hdfs.pid, 'SIGCONT');
    await waitForCheckpoint(workspace, await gtidBinlogPos(server), 120_000, daemon);

    // Killed and restarted mid-stream, on the same ports.
    const writing = (async () => {
      for (let i = 0; i < 100; i++) await generator.randomTransaction();
    })();
    await sleep(300);
    process.kill(hdfs.pid, 'SIGKILL');
    while (hdfs.rss() !== undefined) await sleep(20);
    await writing;
    await sleep(1000);
    hdfs = await startHdfs(options);
    await waitForCheckpoint(workspace, await gtidBinlogPos(server), 120_000, daemon);
    assert.equal(daemon.child.exitCode, null, 'the daemon rode out the outage');
  }).finally(() => db.end());
  try {
    const fs = new WebHdfsFileSystem({ namenodes: [namenode], user: 'sluice', requestTimeoutMs: 10_000, logger: pino({ level: 'silent' }) });
    const rows = bySequence(await readCommittedRows(new LocalCatalog(workspace.catalogDir), fs, `${tag}_shop`, 'orders'));
    assertSameStream(rows, generator.log);
    t.diagnostic(`${rows.length} changes, each once`);
  } finally {
    try {
      process.kill(hdfs.pid, 'SIGCONT');
    } catch {
      /* gone */
    }
    await hdfs.stop();
  }
});
