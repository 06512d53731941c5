// The state store on a real HDFS (checkpoint.store: hdfs): files replaced atomically, hidden
// half-written files never read and cleaned by the next lock holder, the lock refusing a second
// owner, and every kind of state the daemon keeps (checkpoint records, schema history, compaction
// intents, batch-copy records) kept there the same way as on local disk.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { CheckpointStore } from '../src/checkpoint/checkpoint-store.ts';
import { readIntents, writeIntent, type CompactionIntent } from '../src/checkpoint/compaction-intent.ts';
import { isSluiceError } from '../src/core/errors.ts';
import { WebHdfsFileSystem } from '../src/filesystem/webhdfs-filesystem.ts';
import { HDFS_LOCK_FILE } from '../src/runtime/hdfs-state-lock.ts';
import { HdfsStateStore } from '../src/runtime/hdfs-state-store.ts';
import { SCHEMA_HISTORY_FILE, SchemaHistory } from '../src/sources/binlog/schema/schema-history.ts';
import { SyncStateStore } from '../src/sync/sync-state-store.ts';
import { freshState } from '../src/sync/sync-state.ts';
import { holdInChild } from './helpers/lock-holder.ts';
import { REPO_ROOT, testHdfs } from './helpers/servers.ts';
import { writeWholeFile } from './helpers/whole-file.ts';

const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the state store on a real HDFS', () => {
  let fs: WebHdfsFileSystem;
  let namenode: string;
  let spoolDir: string;
  // A fresh directory per run: the shared HDFS outlives this file.
  const root = `/sluice-test/state-${randomUUID().slice(0, 8)}`;
  const children: ChildProcess[] = [];
  let n = 0;
  const store = (options: Partial<ConstructorParameters<typeof HdfsStateStore>[0]> = {}): HdfsStateStore =>
    new HdfsStateStore({ fs, dir: `${root}/s${++n}`, ...options });

  before(async () => {
    const hdfs = await testHdfs();
    namenode = `http://127.0.0.1:${hdfs.namenodeHttpPort}`;
    spoolDir = mkdtempSync(join(tmpdir(), 'sluice-state-spool-'));
    fs = new WebHdfsFileSystem({ namenodes: [namenode], logger: silent, spoolDir, requestTimeoutMs: 20_000 });
  });

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await fs.delete(root, true).catch(() => undefined);
    fs.close();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  test('a file is replaced atomically: a reader sees the old content or the new, whole, and no temp file stays', async () => {
    const state = store();
    const versions = Array.from({ length: 8 }, (_, i) => `version ${i} ${'x'.repeat(1000 * (i + 1))}\n`);
    await state.write('record.json', versions[0]!);
    let writing = true;
    const writer = (async () => {
      for (const version of versions.slice(1)) await state.write('record.json', version);
      writing = false;
    })();
    let reads = 0;
    while (writing) {
      const seen = (await state.read('record.json'))?.toString('utf8');
      assert.ok(seen !== undefined && versions.includes(seen), `a torn or missing read: ${seen?.slice(0, 40)}... (${seen?.length} bytes)`);
      reads++;
    }
    await writer;
    assert.ok(reads > 0);
    assert.equal((await state.read('record.json'))?.toString('utf8'), versions.at(-1));
    assert.deepEqual((await fs.list(state.dir)).map((entry) => entry.path.slice(state.dir.length + 1)), ['record.json'], 'only the file, no hidden temp file');
    assert.deepEqual(await state.list(), ['record.json']);
    assert.equal(await state.read('missing.json'), undefined);
    await state.remove('record.json');
    await state.remove('record.json'); // nothing to delete is fine
    assert.deepEqual(await state.list(), []);
  });

  test('the check before the rename (where the ZooKeeper epoch check goes) can stop a write: the old content stays', async () => {
    let allow = true;
    const state = store({
      beforeRename: async () => {
        if (!allow) throw new Error('not the leader any more');
      },
    });
    await state.write('checkpoint-000000000001.json', '{"old":true}\n');
    allow = false;
    await assert.rejects(state.write('checkpoint-000000000001.json', '{"new":true}\n'), /not the leader any more/);
    assert.equal((await state.read('checkpoint-000000000001.json'))?.toString('utf8'), '{"old":true}\n');
    assert.deepEqual((await fs.list(state.dir)).length, 1, 'the refused temp file is deleted');
  });

  test('a half-written hidden file is never read, and the next lock holder deletes it', async () => {
    const state = store();
    const records = new CheckpointStore(state);
    for (const id of [1, 2, 3]) await records.write({ format: 1, id, jobId: 'j', createdAt: new Date().toISOString(), source: { kind: 'binlog', position: { file: 'm.000001', offset: 4 + id }, nextSequence: id }, commits: [] } as never);
    // What a kill -9 leaves: a newer record cut off in its temp file, and an upload attempt's file.
    await writeWholeFile(fs, `${state.dir}/.checkpoint-000000000004.json.4242.abcd1234.tmp`, '{"format":1,"id":4,"jobId":"j","sour');
    await writeWholeFile(fs, `${state.dir}/..checkpoint-000000000004.json.4242.abcd1234.tmp.9f9f9f9f.upload`, '{"format":1');
    assert.deepEqual(await state.list(), ['checkpoint-000000000001.json', 'checkpoint-000000000002.json', 'checkpoint-000000000003.json']);
    assert.equal((await records.latest())?.id, 3, 'the newest complete record is the state');
    const lock = await state.lock();
    try {
      assert.deepEqual(
        (await fs.list(state.dir)).map((entry) => entry.path.slice(state.dir.length + 1)),
        ['checkpoint-000000000001.json', 'checkpoint-000000000002.json', 'checkpoint-000000000003.json', HDFS_LOCK_FILE],
        'the leftovers are gone',
      );
    } finally {
      await lock.release();
    }
    assert.equal(await fs.status(`${state.dir}/${HDFS_LOCK_FILE}`), undefined, 'release deletes the lock');
  });

  test('the lock refuses a second owner while its holder lives, names it and the key, and is taken over after a kill -9', async () => {
    const state = store();
    const child = await holdHdfsLockInChild(namenode, state.dir);
    children.push(child);
    await assert.rejects(state.lock(), (error: unknown) => {
      assert.ok(isSluiceError(error, 'SLUICE_STATE_LOCKED'), String(error));
      assert.match(error.message, new RegExp(`process ${child.pid}\\b`));
      assert.ok(error.message.includes(state.dir) && error.message.includes('checkpoint.hdfs.dir'), error.message);
      return true;
    });
    assert.equal((await state.lockHolder())?.pid, child.pid);
    // A second starter at the same moment: still exactly one owner.
    const racers = await Promise.allSettled([state.lock(), state.lock()]);
    assert.ok(racers.every((racer) => racer.status === 'rejected'), 'nobody takes a live lock');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    assert.ok(await fs.status(`${state.dir}/${HDFS_LOCK_FILE}`), 'kill -9 leaves the lock file');
    assert.equal(await state.lockHolder(), undefined, 'its process is gone: stale');
    const [first, second] = await Promise.allSettled([state.lock(), state.lock()]);
    const won = [first, second].filter((racer) => racer.status === 'fulfilled');
    assert.equal(won.length, 1, `exactly one of two starters takes over a stale lock: ${JSON.stringify([first, second].map((r) => r.status === 'rejected' && String(r.reason)))}`);
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<HdfsStateStore['lock']>>>).value.release();
  });

  test('a lock of another host is held while it is refreshed, stale after the lease, and its old holder learns it lost it', async () => {
    const timing = { heartbeatMs: 200, staleMs: 2000 };
    const state = store({ lockTiming: timing });
    const file = `${state.dir}/${HDFS_LOCK_FILE}`;
    const foreign = JSON.stringify({ owner: 'other', pid: 1, host: `not-${hostname()}`, since: new Date().toISOString() }) + '\n';
    await writeWholeFile(fs, file, foreign);
    await assert.rejects(state.lock(), (error: unknown) => isSluiceError(error, 'SLUICE_STATE_LOCKED') && error.message.includes(`on host not-${hostname()}`));
    // Refreshed: still held past the lease.
    for (let i = 0; i < 5; i++) {
      await sleep(500);
      await fs.touch(file, Date.now());
    }
    await assert.rejects(state.lock(), (error: unknown) => isSluiceError(error, 'SLUICE_STATE_LOCKED'));
    // Not refreshed for the lease: taken over.
    await sleep(timing.staleMs + 200);
    const lock = await state.lock();
    assert.ok(lock.lost, 'an HDFS lock reports its loss');
    // A standby takes it while this holder is paused (its lock made stale from outside): at its next
    // refresh the holder reads someone else's name and reports the loss instead of refreshing.
    await writeWholeFile(fs, `${file}.standby`, foreign);
    await fs.replace(`${file}.standby`, file);
    const lost = await Promise.race([lock.lost!, sleep(5000).then(() => undefined)]);
    assert.ok(lost && isSluiceError(lost, 'SLUICE_STATE_LOCK_LOST'), `the loss is reported: ${String(lost)}`);
    assert.ok(lost.message.includes('checkpoint.hdfs.dir') && lost.message.includes(`not-${hostname()}`), lost.message);
    await lock.release();
    assert.equal((await fs.readFile(file)).toString('utf8'), foreign, "release leaves the new holder's lock alone");
  });

  test('checkpoint records, the schema history, compaction intents and batch-copy records live there as on local disk', async () => {
    const state = store();
    const records = new CheckpointStore(state);
    for (let id = 1; id <= 5; id++) {
      await records.write({ format: 1, id, jobId: 'j', createdAt: new Date().toISOString(), source: { kind: 'binlog', position: { file: 'm.000001', offset: 4 + id }, nextSequence: id }, commits: [] } as never);
    }
    await records.prune(3);
    assert.equal((await records.latest())?.id, 5);
    assert.deepEqual((await state.list()).filter((name) => name.startsWith('checkpoint-')).length, 3);

    const history = await SchemaHistory.load(state);
    history.record({ table: 'db.t', from: { file: 'm.000001', offset: 100, gtidSet: '0-1-3' }, state: 'dropped' });
    await history.save();
    history.record({ table: 'db.u', from: { file: 'm.000001', offset: 200, gtidSet: '0-1-4' }, state: 'dropped' });
    await history.save();
    const reread = await SchemaHistory.load(state);
    assert.deepEqual(reread.tables().sort(), ['db.t', 'db.u']);
    assert.ok(reread.file.startsWith(state.dir) && reread.file.endsWith(SCHEMA_HISTORY_FILE));

    const intent: CompactionIntent = { format: 1, kind: 'compaction', id: 'j.5-1', createdAt: new Date().toISOString(), table: 'ods.t', partition: { dt: '2026-12-01' }, inputs: ['/w/a'], outputs: [{ from: '/w/.data/b', to: '/w/b' }] };
    await writeIntent(state, intent);
    assert.deepEqual(await readIntents(state), [intent]);

    const sync = new SyncStateStore(state.child('copy-job'));
    const run = freshState('copy-job', 'db.t', ['id'], { kind: 'keys', channels: 2, boundaries: [] } as never, new Date());
    for (let checkpointId = 1; checkpointId <= 4; checkpointId++) await sync.write({ ...run, checkpointId });
    assert.equal((await sync.latest())?.checkpointId, 4);
    assert.equal((await state.child('copy-job').list()).length, 3, 'the batch copy keeps its last three records');

    // A damaged record is named, never guessed past.
    await writeWholeFile(fs, `${state.dir}/checkpoint-000000000009.json`, '{"format":1,');
    await assert.rejects(records.latest(), (error: unknown) => isSluiceError(error, 'SLUICE_CHECKPOINT_CORRUPT') && error.message.includes(`${state.dir}/checkpoint-000000000009.json`));
  });
});

/** Another process holding the HDFS lock on `dir`, as a running daemon does; resolves once it holds it. */
function holdHdfsLockInChild(namenode: string, dir: string): Promise<ChildProcess> {
  return holdInChild(`import { pino } from 'pino';
import { WebHdfsFileSystem } from ${JSON.stringify(join(REPO_ROOT, 'src/filesystem/webhdfs-filesystem.ts'))};
import { HdfsStateStore } from ${JSON.stringify(join(REPO_ROOT, 'src/runtime/hdfs-state-store.ts'))};
const fs = new WebHdfsFileSystem({ namenodes: [${JSON.stringify(namenode)}], logger: pino({ level: 'silent' }) });
await new HdfsStateStore({ fs, dir: ${JSON.stringify(dir)} }).lock();`);
}
