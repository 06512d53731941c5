// HDFS itself stops or dies during an upload. A private HDFS (not the run's shared one, since it is
// frozen and killed here) on fixed ports, so that the client's NameNode URL stays valid across a restart.
// A stopped HDFS must hold close() back without memory growing (the spool file streams, nothing
// queues); a killed and restarted one must still end with the file there exactly once.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { WebHdfsEvent } from '../src/filesystem/webhdfs-client.ts';
import { WebHdfsFileSystem } from '../src/filesystem/webhdfs-filesystem.ts';
import { startHdfs, type HdfsOptions, type HdfsServer } from './servers/jvm.ts';
import { freePort } from './servers/mariadb.ts';

const silent = pino({ level: 'silent' });
const MiB = 1024 * 1024;
const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('WebHDFS when HDFS stops or dies mid-upload', () => {
  let dir: string;
  let options: HdfsOptions;
  let hdfs: HdfsServer | undefined;
  let namenode: string;
  const data = randomBytes(64 * MiB);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-webhdfs-outage-'));
    options = {
      dir,
      ports: { namenodeRpc: await freePort(), namenodeHttp: await freePort(), datanode: await freePort(), datanodeHttp: await freePort() },
    };
    hdfs = await startHdfs(options);
    namenode = `http://127.0.0.1:${hdfs.namenodeHttpPort}`;
  });

  after(async () => {
    if (hdfs) {
      try {
        process.kill(hdfs.pid, 'SIGCONT');
      } catch {
        /* gone */
      }
      await hdfs.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  function fileSystem(events: WebHdfsEvent[], onEvent?: (event: WebHdfsEvent) => void): WebHdfsFileSystem {
    return new WebHdfsFileSystem({
      namenodes: [namenode],
      logger: silent,
      spoolDir: join(dir, 'spool'),
      requestTimeoutMs: 1500,
      // Enough to outlast a JVM restart; the daemon's defaults give up sooner and restart the job.
      retry: { initialDelayMs: 100, maxDelayMs: 1000, maxAttempts: 60 },
      onEvent: (event) => {
        events.push(event);
        onEvent?.(event);
      },
    });
  }

  async function spool(fs: WebHdfsFileSystem, path: string) {
    const writer = await fs.create(path);
    for (let offset = 0; offset < data.length; offset += MiB) await writer.write(data.subarray(offset, offset + MiB));
    return writer;
  }

  /** Returns how many hidden upload leftovers there are. */
  async function assertExactlyOnce(fs: WebHdfsFileSystem, directory: string, path: string): Promise<number> {
    assert.equal(sha(await fs.readFile(path)), sha(data));
    // Hidden upload names of dropped attempts may remain (a frozen DataNode completes them after it
    // wakes up); Hive skips them and recovery deletes staging. Visible: the one file.
    const entries = await fs.list(directory);
    assert.deepEqual(
      entries.filter((entry) => !entry.path.slice(directory.length + 1).startsWith('.')),
      [{ path, type: 'file', length: data.length }],
    );
    for (const entry of entries) {
      if (entry.path !== path) assert.match(entry.path, /\/\.f\.[0-9a-f]{8}\.upload$/);
    }
    return entries.length - 1;
  }

  test('SIGSTOP during an upload: close() waits without memory growing, and completes after SIGCONT', { timeout: 60_000 }, async (t) => {
    const events: WebHdfsEvent[] = [];
    let stopped!: () => void;
    const stoppedDuringUpload = new Promise<void>((resolve) => (stopped = resolve));
    const fs = fileSystem(events, (event) => {
      // The first DataNode transfer has begun: freeze the whole HDFS (NameNode and DataNode).
      if (event.type === 'upload-started' && events.filter((e) => e.type === 'upload-started').length === 1) {
        process.kill(hdfs!.pid, 'SIGSTOP');
        stopped();
      }
    });
    try {
      const writer = await spool(fs, '/outage/stop/f');
      let closed = false;
      const closing = writer.close().then(() => (closed = true));
      await stoppedDuringUpload;
      global.gc?.();
      const baseline = process.memoryUsage();
      let peakRss = baseline.rss;
      let peakExternal = baseline.external + baseline.arrayBuffers;
      // Long enough for several timeouts and retries against the frozen server.
      for (let waited = 0; waited < 6000; waited += 200) {
        await sleep(200);
        const now = process.memoryUsage();
        peakRss = Math.max(peakRss, now.rss);
        peakExternal = Math.max(peakExternal, now.external + now.arrayBuffers);
        assert.equal(closed, false, 'close() resolved while HDFS was stopped');
      }
      const growth = (peakRss - baseline.rss) / MiB;
      t.diagnostic(`while stopped for 6 s: RSS ${(baseline.rss / MiB).toFixed(0)} MiB -> peak +${growth.toFixed(1)} MiB; buffers +${((peakExternal - baseline.external - baseline.arrayBuffers) / MiB).toFixed(1)} MiB; ${events.filter((e) => e.type === 'upload-started').length} upload attempts begun`);
      // 64 MiB are waiting to go; a client that buffered them would grow by that much.
      assert.ok(growth < 24, `RSS grew by ${growth.toFixed(1)} MiB while HDFS was stopped`);
      const resumed = Date.now();
      process.kill(hdfs!.pid, 'SIGCONT');
      await closing;
      t.diagnostic(`close() resolved ${Date.now() - resumed} ms after SIGCONT`);
      t.diagnostic(`hidden leftovers of dropped attempts: ${await assertExactlyOnce(fs, '/outage/stop', '/outage/stop/f')}`);
    } finally {
      fs.close();
    }
  });

  test('kill -9 of HDFS mid-upload and a restart on the same ports: the retried upload lands exactly once', { timeout: 120_000 }, async (t) => {
    const events: WebHdfsEvent[] = [];
    const watcher = new WebHdfsFileSystem({ namenodes: [namenode], logger: silent, retry: { maxAttempts: 1 }, requestTimeoutMs: 1000 });
    let killed!: () => void;
    const killedMidUpload = new Promise<void>((resolve) => (killed = resolve));
    const fs = fileSystem(events, (event) => {
      if (event.type !== 'upload-started' || events.filter((e) => e.type === 'upload-started').length !== 1) return;
      // Kill once the DataNode has created the file and is writing blocks: the transfer is under way.
      void (async () => {
        const deadline = Date.now() + 5000;
        while (!(await watcher.status(event.path).catch(() => undefined)) && Date.now() < deadline) await sleep(5);
        process.kill(hdfs!.pid, 'SIGKILL');
        killed();
      })();
    });
    try {
      const writer = await spool(fs, '/outage/kill/f');
      const closing = writer.close();
      await killedMidUpload;
      const restarted = Date.now();
      const dead = hdfs!;
      while (dead.rss() !== undefined) await sleep(20);
      hdfs = await startHdfs(options);
      assert.equal(String(hdfs.namenodeHttpPort), new URL(namenode).port, 'the same NameNode URL');
      t.diagnostic(`HDFS back after ${Date.now() - restarted} ms`);
      await closing;
      const attempts = events.filter((e) => e.type === 'upload-started').length;
      t.diagnostic(`${attempts} upload attempts`);
      assert.ok(attempts >= 2, 'the kill interrupted the first attempt');
      t.diagnostic(`hidden leftovers of dropped attempts: ${await assertExactlyOnce(fs, '/outage/kill', '/outage/kill/f')}`);
    } finally {
      watcher.close();
      fs.close();
    }
  });
});
