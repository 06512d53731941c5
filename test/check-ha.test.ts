// `sluice check` with ha.zookeeper (docs/ha.md) against the real ZooKeeper and HDFS: a `ZooKeeper`
// line with the path, whether a daemon is active (an election node under the path) and the epoch,
// read without creating a node or raising the epoch; a connect string nobody answers fails the line,
// naming ha.zookeeper.connect.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import zookeeper, { type Client, type Exception } from 'node-zookeeper-client';
import { pino } from 'pino';
import { WebHdfsFileSystem } from '../src/filesystem/webhdfs-filesystem.ts';
import { HdfsStateStore } from '../src/runtime/hdfs-state-store.ts';
import { makeWorkspace } from './helpers/daemon.ts';
import { REPO_ROOT, testHdfs, testMariaDb, testZooKeeper } from './helpers/servers.ts';

function call<T>(start: (done: (error: Error | Exception | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((error, value) => (error ? reject(error) : resolve(value))));
}

const epochOf = async (client: Client, path: string): Promise<string> =>
  (await call<Buffer>((done) => client.getData(`${path}/epoch`, (error, data) => done(error, data)))).toString('utf8');

test('check reports the ZooKeeper election read only, and fails naming ha.zookeeper.connect when nobody answers', { timeout: 120_000 }, async () => {
  const zk = await testZooKeeper();
  const hdfs = await testHdfs();
  const server = await testMariaDb();
  const namenode = new URL(hdfs.webhdfsUrl).origin;
  const tag = `chk${randomUUID().slice(0, 6)}`;
  const root = `/sluice-check-ha/${tag}`;
  const path = `/sluice-test/${tag}`;
  const fs = new WebHdfsFileSystem({ namenodes: [namenode], logger: pino({ level: 'silent' }), requestTimeoutMs: 20_000 });
  const workspace = makeWorkspace(server, {
    start: 'latest',
    routing: `  include: ['${tag}.*']`,
    state: { yaml: `  store: hdfs\n  hdfs:\n    dir: ${root}/state\n    namenodes: ['${namenode}']`, store: new HdfsStateStore({ fs, dir: `${root}/state` }) },
    extra: `ha:\n  zookeeper:\n    connect: '${zk.connect}'\n    path: ${path}\n    sessionTimeoutMs: 4000\n`,
  });
  const check = () => {
    const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'check', '--config', workspace.configFile], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, SLUICE_TEST_PASSWORD: server.password },
    });
    return { code: result.status, stdout: result.stdout, line: result.stdout.split('\n').find((text) => text.slice(6).startsWith('ZooKeeper:')) ?? '(no ZooKeeper line)' };
  };
  const client = zookeeper.createClient(zk.connect);
  client.connect();
  try {
    const fresh = check();
    assert.equal(fresh.code, 0, fresh.stdout);
    assert.equal(fresh.line, `ok    ZooKeeper: ${zk.connect} (ha.zookeeper.connect), path ${path}: no daemon is active (the first to start leads); no epoch yet (no daemon has led here)`);
    assert.match(fresh.stdout, /^ok {4}state: /m);
    assert.match(fresh.stdout, /all 11 checks passed\n$/);
    assert.ok(!(await call((done) => client.exists(path, done))), 'the check created no node, not even the path');

    // What a past leader leaves (the epoch) and a live one holds (its ephemeral election node).
    await call<string>((done) => client.mkdirp(`${path}/election`, done));
    await call<string>((done) => client.create(`${path}/epoch`, Buffer.from('2'), zookeeper.CreateMode.PERSISTENT, done));
    const idle = check();
    assert.equal(idle.line, `ok    ZooKeeper: ${zk.connect} (ha.zookeeper.connect), path ${path}: no daemon is active (the first to start leads); epoch 2`);
    const node = await call<string>((done) => client.create(`${path}/election/n-`, Buffer.from(JSON.stringify({ host: 'db7', pid: 4711 })), zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL, done));
    const active = check();
    assert.equal(active.code, 0, active.stdout);
    assert.equal(active.line, `ok    ZooKeeper: ${zk.connect} (ha.zookeeper.connect), path ${path}: daemon pid 4711 on host db7 (${node.slice(`${path}/election/`.length)}) is active, 0 standing by; epoch 2`);
    assert.equal(await epochOf(client, path), '2', 'the check did not raise the epoch');
    assert.deepEqual(await call<string[]>((done) => client.getChildren(`${path}/election`, done)), [node.slice(`${path}/election/`.length)], 'the check joined no election');

    writeFileSync(workspace.configFile, readFileSync(workspace.configFile, 'utf8').replace(`connect: '${zk.connect}'`, "connect: '127.0.0.1:1'"));
    const down = check();
    assert.equal(down.code, 1, down.stdout);
    assert.match(down.line, /^FAIL {2}ZooKeeper: ZooKeeper 127\.0\.0\.1:1 \(ha\.zookeeper\.connect\) did not answer within 5000 ms: .*\[SLUICE_HA_ZOOKEEPER_LOST\]$/);
  } finally {
    client.close();
    fs.close();
  }
});
