// Losing the host: with checkpoint.store: hdfs, a daemon started on a fresh local disk (a new host)
// with the same HDFS state directory resumes exactly where the first one left off, even when the
// first was killed between writing a checkpoint record and carrying out its commits: nothing lost,
// nothing doubled. The catalog directory is shared by both "hosts", standing in for the metastore
// that a cluster shares; everything else local (checkpoint.dir, the spool, the workspace) is new.
// `sluice check` on the new host finds the HDFS state directory writable, and locked while a daemon runs.
// And a daemon that finds its HDFS lock taken over (it was paused past the lease) stands down at once.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { WebHdfsFileSystem } from '../src/filesystem/webhdfs-filesystem.ts';
import { HDFS_LOCK_FILE } from '../src/runtime/hdfs-state-lock.ts';
import { HdfsStateStore } from '../src/runtime/hdfs-state-store.ts';
import { ChangeGenerator } from './helpers/change-generator.ts';
import { assertSameStream, killWhenRecordLands } from './helpers/crash-scenario.ts';
import { fatalLine, gtidBinlogPos, latestCheckpoint, makeWorkspace, metricsPort, startDaemon, stopDaemon, waitForCheckpoint, type DaemonWorkspace } from './helpers/daemon.ts';
import { writeWholeFile } from './helpers/whole-file.ts';
import { REPO_ROOT, testHdfs, testMariaDb } from './helpers/servers.ts';
import { bySequence, readCommittedRows } from './helpers/warehouse.ts';
import type { MariaDbServer } from './servers/mariadb.ts';

function check(server: MariaDbServer, workspace: DaemonWorkspace): Promise<{ status: number | null; state: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [join(REPO_ROOT, 'bin/sluice.js'), 'check', '--config', workspace.configFile],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, SLUICE_TEST_PASSWORD: server.password } },
      (_error, stdout) => resolve({ status: child.exitCode, state: stdout.split('\n').find((line) => line.slice(6).startsWith('state:')) ?? `(no state line)\n${stdout}` }),
    );
  });
}

test('a daemon on a new host with the same HDFS state directory resumes exactly where the lost one stopped', { timeout: 10 * 60_000 }, async (t) => {
  const hdfs = await testHdfs();
  const namenode = new URL(hdfs.webhdfsUrl).origin;
  const server = await testMariaDb();
  const db = await server.rootConnection();
  const tag = `nh${randomUUID().slice(0, 6)}`;
  const root = `/sluice-new-host/${tag}`;
  const tables = [`${tag}_shop.orders_1`, `${tag}_shop.orders_2`];
  await ChangeGenerator.createTables(db, tables);
  const start = await gtidBinlogPos(server);
  const sharedCatalog = mkdtempSync(join(tmpdir(), 'sluice-shared-catalog-'));
  const fs = new WebHdfsFileSystem({ namenodes: [namenode], logger: pino({ level: 'silent' }), requestTimeoutMs: 20_000 });
  const state = new HdfsStateStore({ fs, dir: `${root}/state` });
  const host = (): DaemonWorkspace =>
    makeWorkspace(server, {
      start: `{ gtid: '${start}' }`,
      routing: `  include: ['${tag}_shop.*']\n  rules:\n    - match: '^${tag}_shop\\.orders_\\d+$'\n      target: ods_${tag}.orders`,
      intervalSeconds: 0.3,
      storage: `  filesystem:\n    kind: webhdfs\n    namenodes: ['${namenode}']\n    warehouse: ${root}/warehouse\n    spoolDir: ./spool\n  catalog:\n    dir: ${sharedCatalog}`,
      state: { yaml: `  store: hdfs\n  hdfs:\n    dir: ${root}/state`, store: state },
    });
  const generator = new ChangeGenerator(db, tables, 11);
  let writing = true;
  const writer = (async () => {
    while (writing) {
      await generator.randomTransaction();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  try {
    // Host A streams, then dies between a checkpoint record and its commits; its disk goes with it.
    const first = host();
    const a = startDaemon(first, server);
    await metricsPort(a);
    await waitForCheckpoint(first, start, 60_000, a);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.ok(await killWhenRecordLands(first, a, 30_000), `a record landed while A ran:\n${a.output().slice(-2000)}`);
    await a.exited;
    const lastOfA = await latestCheckpoint(first);
    assert.ok(lastOfA && lastOfA.commits.length > 0, 'A was killed with commits of its last record pending');
    assert.deepEqual(readdirSync(first.stateDir).filter((name) => name.startsWith('checkpoint-')), [], 'no record on the local disk');
    assert.ok(await fs.status(`${root}/state/${HDFS_LOCK_FILE}`), "A's lock stays behind after kill -9");
    rmSync(first.dir, { recursive: true, force: true });

    // Host B: a fresh disk, the same HDFS state directory.
    const second = host();
    assert.equal(existsSync(second.stateDir), false);
    const idle = await check(server, second);
    assert.match(idle.state, /^ok +state: checkpoint\.hdfs\.dir=hdfs:.* is writable, not locked/, idle.state);
    const b = startDaemon(second, server);
    await metricsPort(b);
    const busy = await check(server, second);
    assert.match(busy.state, /^FAIL +state: checkpoint\.hdfs\.dir=.* is locked by sluice process \d+/, busy.state);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    writing = false;
    await writer;
    const firstOfB = await waitForCheckpoint(second, await gtidBinlogPos(server), 120_000, b);
    const exit = await stopDaemon(b);
    assert.equal(exit.code, 0, b.output().slice(-2000));
    assert.ok(firstOfB.id > lastOfA.id, `B went on from A's record ${lastOfA.id} (now ${firstOfB.id}), not from a fresh start`);
    // B redid the commits A left pending, from A's record on HDFS.
    assert.match(b.output(), new RegExp(`"checkpoint":${lastOfA.id},[^\\n]*recovered: commits of the newest checkpoint are in place`), b.output().slice(0, 4000));
    assert.deepEqual(readdirSync(second.stateDir).filter((name) => name.startsWith('checkpoint-')), [], 'B keeps no record on its local disk either');

    const rows = bySequence(await readCommittedRows(new LocalCatalog(sharedCatalog), fs, `ods_${tag}`, 'orders'));
    assertSameStream(rows, generator.log);
    t.diagnostic(`${generator.log.length} changes, each once; A's last record ${lastOfA.id} with ${lastOfA.commits.length} pending commits, B reached ${firstOfB.id}`);
  } finally {
    writing = false;
    await writer.catch(() => undefined);
    await db.end();
    await fs.delete(root, true).catch(() => undefined);
    fs.close();
    rmSync(sharedCatalog, { recursive: true, force: true });
  }
});

test('a daemon whose HDFS lock another process took over exits at its next refresh, without a final checkpoint', { timeout: 3 * 60_000 }, async () => {
  const hdfs = await testHdfs();
  const namenode = new URL(hdfs.webhdfsUrl).origin;
  const server = await testMariaDb();
  const tag = `ll${randomUUID().slice(0, 6)}`;
  const root = `/sluice-lock-lost/${tag}`;
  const fs = new WebHdfsFileSystem({ namenodes: [namenode], logger: pino({ level: 'silent' }), requestTimeoutMs: 20_000 });
  const state = new HdfsStateStore({ fs, dir: `${root}/state` });
  try {
    const workspace = makeWorkspace(server, {
      start: 'latest',
      routing: `  include: ['${tag}.*']`,
      intervalSeconds: 0.3,
      storage: `  filesystem:\n    kind: webhdfs\n    namenodes: ['${namenode}']\n    warehouse: ${root}/warehouse\n    spoolDir: ./spool\n  catalog:\n    dir: ./catalog`,
      state: { yaml: `  store: hdfs\n  hdfs:\n    dir: ${root}/state`, store: state },
    });
    const daemon = startDaemon(workspace, server);
    await metricsPort(daemon);
    await waitForCheckpoint(workspace, await gtidBinlogPos(server), 60_000, daemon);
    // A standby's lock, put in place the way HDFS would let one in after a lease ran out.
    const file = `${root}/state/${HDFS_LOCK_FILE}`;
    const standby = JSON.stringify({ owner: 'standby', pid: 4242, host: 'standby-host', since: new Date().toISOString() }) + '\n';
    await writeWholeFile(fs, `${root}/state/.standby.tmp`, standby);
    await fs.replace(`${root}/state/.standby.tmp`, file);
    const exit = await Promise.race([daemon.exited, new Promise<undefined>((resolve) => setTimeout(resolve, 30_000))]);
    if (!exit) daemon.child.kill('SIGKILL');
    assert.ok(exit, `the daemon went on after losing its lock:\n${daemon.output().slice(-2000)}`);
    assert.equal(exit.code, 1, daemon.output().slice(-2000));
    const fatal = fatalLine(daemon);
    assert.equal(fatal.code, 'SLUICE_STATE_LOCK_LOST');
    assert.match(fatal.msg, /now names sluice process 4242 on host standby-host/);
    assert.doesNotMatch(daemon.output(), /stopped after a final checkpoint/);
    assert.equal((await fs.readFile(file)).toString('utf8'), standby, "the standby's lock is left alone");
  } finally {
    await fs.delete(root, true).catch(() => undefined);
    fs.close();
  }
});
