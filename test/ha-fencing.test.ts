// The epoch check of the standby (ha.zookeeper, docs/ha.md) on its own, against a real ZooKeeper and
// HDFS: the first leader of a path leads in epoch 1 and may put state files in place; once another
// daemon raises the epoch (what a takeover does), the old leader's check fails with SLUICE_HA_FENCED,
// its state write leaves the old content, a data-file rename is not made, and it learns of the loss
// by itself. A second candidate waits while the leader's node exists and leads in the next epoch.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import zookeeper from 'node-zookeeper-client';
import { pino } from 'pino';
import { WebHdfsFileSystem } from '../src/filesystem/webhdfs-filesystem.ts';
import { HdfsStateStore } from '../src/runtime/hdfs-state-store.ts';
import { electLeader, fenceRenames } from '../src/runtime/zookeeper-leadership.ts';
import { testHdfs, testZooKeeper } from './helpers/servers.ts';
import { writeWholeFile } from './helpers/whole-file.ts';

test('a leader whose epoch another daemon raised cannot put a state file or a data file in place', { timeout: 3 * 60_000 }, async () => {
  const zk = await testZooKeeper();
  const hdfs = await testHdfs();
  const logger = pino({ level: 'silent' });
  const tag = randomUUID().slice(0, 8);
  const settings = { connect: zk.connect, path: `/sluice-test/fence-${tag}`, sessionTimeoutMs: 3000 };
  const root = `/sluice-fence/${tag}`;
  const fs = new WebHdfsFileSystem({ namenodes: [new URL(hdfs.webhdfsUrl).origin], logger, requestTimeoutMs: 20_000 });
  const raw = zookeeper.createClient(zk.connect);
  raw.connect();
  const first = await electLeader(settings, logger);
  try {
    assert.equal(first.epoch, 1);
    const store = new HdfsStateStore({ fs, dir: `${root}/state`, beforeRename: () => first.check(), takeOverLock: true });
    await store.write('checkpoint-000000000001.json', 'of epoch 1\n');
    const data = new WebHdfsFileSystem({ namenodes: [new URL(hdfs.webhdfsUrl).origin], logger, requestTimeoutMs: 20_000 });
    fenceRenames(data, first);
    await writeWholeFile(fs, `${root}/staged-1`, 'a row\n');
    await data.rename(`${root}/staged-1`, `${root}/committed-1`);

    // What a new leader does on taking over.
    await new Promise<void>((resolve, reject) => raw.setData(`${settings.path}/epoch`, Buffer.from('2'), -1, (error) => (error ? reject(error) : resolve())));
    await assert.rejects(store.write('checkpoint-000000000001.json', 'late, of epoch 1\n'), (error: { code?: string }) => error.code === 'SLUICE_HA_FENCED');
    assert.equal((await store.read('checkpoint-000000000001.json'))?.toString('utf8'), 'of epoch 1\n', 'the record in place is untouched');
    await writeWholeFile(fs, `${root}/staged-2`, 'a late row\n');
    await assert.rejects(data.rename(`${root}/staged-2`, `${root}/committed-2`), (error: { code?: string }) => error.code === 'SLUICE_HA_FENCED');
    assert.equal(await fs.status(`${root}/committed-2`), undefined, 'no late commit');
    const lost = await Promise.race([first.lost, new Promise<undefined>((resolve) => setTimeout(resolve, 10_000))]);
    assert.equal(lost?.code, 'SLUICE_HA_FENCED', 'the leader learns by itself that another leads');
    data.close();

    // A candidate stands by while the first one's node exists, then leads in the next epoch.
    let waiting = '';
    const second = electLeader(settings, logger, { onStandby: (active) => (waiting = active) });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.match(waiting, /"pid":/, 'the second candidate stands by, naming the leader');
    first.close();
    const next = await second;
    assert.equal(next.epoch, 3);
    await next.check();
    next.close();
  } finally {
    first.close();
    raw.close();
    await fs.delete(root, true).catch(() => undefined);
    fs.close();
  }
});
