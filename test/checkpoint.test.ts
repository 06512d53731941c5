// The checkpoint store and recovery, on real files: what the design's recovery rules promise.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { recover as recoverWith } from '../src/checkpoint/recovery.ts';
import { TableGate } from '../src/checkpoint/table-gate.ts';
import { binlogHiveRecord, recoverBinlogToHive as recover, type BinlogHiveRecord as CheckpointRecord } from '../src/pipeline/binlog-to-hive-record.ts';
import { executeCommits, type PendingCommit } from '../src/sinks/hive-commits.ts';
import { isSluiceError } from '../src/core/errors.ts';
import { HeldXaFiles } from '../src/sinks/xa-held-files.ts';
import { HiveRecovery } from '../src/sinks/hive-sink.ts';
import { localWarehouse } from './helpers/local-warehouse.ts';
import { writeWholeFile } from './helpers/whole-file.ts';

const logger = pino({ level: 'silent' });

function record(id: number, commits: PendingCommit[] = []): CheckpointRecord {
  return {
    format: 1,
    id,
    jobId: 'job',
    createdAt: new Date().toISOString(),
    source: { kind: 'binlog', position: { file: 'mysql-bin.000001', offset: 100 * id, gtidSet: `0-1-${id}` }, nextSequence: String(id * 10) },
    commits,
  };
}

const fixture = () => localWarehouse('sluice-checkpoint-', [{ name: 'id', type: 'bigint' }]);

test('the newest record is the state; prune keeps the newest N', async () => {
  const { store } = await fixture();
  assert.equal(await store.latest(), undefined);
  for (let id = 1; id <= 5; id++) await store.write(record(id));
  assert.equal((await store.latest())?.id, 5);
  await store.prune(2);
  assert.deepEqual(readdirSync(store.dir).sort(), ['checkpoint-000000000004.json', 'checkpoint-000000000005.json']);
});

test('a damaged newest record stops recovery with its file name instead of guessing', async () => {
  const { store } = await fixture();
  await store.write(record(1));
  writeFileSync(join(store.dir, 'checkpoint-000000000002.json'), '{"format":1,"id":2,');
  await assert.rejects(store.latest(), (error: unknown) => isSluiceError(error, 'SLUICE_CHECKPOINT_CORRUPT') && /checkpoint-000000000002\.json/.test(error.message));
});

test('recovery redoes the newest record commits, whichever steps the crashed run finished', async () => {
  const { fs, catalog, store } = await fixture();
  await writeWholeFile(fs, '/ods.db/orders/.data/dt=2026-11-25/0.job.1-0', '1\n');
  await writeWholeFile(fs, '/ods.db/orders/.data/dt=2026-11-25/0.job.1-1', '2\n');
  await writeWholeFile(fs, '/ods.db/orders/dt=2026-11-25/0.job.1-1', '2\n'); // this rename had happened before the crash
  await fs.delete('/ods.db/orders/.data/dt=2026-11-25/0.job.1-1', false);
  await writeWholeFile(fs, '/ods.db/orders/.data/dt=2026-11-26/0.job.2-2', 'uncommitted\n'); // written after the record
  const commits: PendingCommit[] = [
    { kind: 'rename', from: '/ods.db/orders/.data/dt=2026-11-25/0.job.1-0', to: '/ods.db/orders/dt=2026-11-25/0.job.1-0' },
    { kind: 'rename', from: '/ods.db/orders/.data/dt=2026-11-25/0.job.1-1', to: '/ods.db/orders/dt=2026-11-25/0.job.1-1' },
    { kind: 'partition', database: 'ods', table: 'orders', values: { dt: '2026-11-25' }, location: '/ods.db/orders/dt=2026-11-25' },
  ];
  await store.write(record(1, commits));

  const recovered = await recover(store, fs, catalog, logger);
  assert.equal(recovered?.id, 1);
  assert.deepEqual(
    (await fs.list('/ods.db/orders/dt=2026-11-25')).map((file) => file.path),
    ['/ods.db/orders/dt=2026-11-25/0.job.1-0', '/ods.db/orders/dt=2026-11-25/0.job.1-1'],
  );
  assert.equal(await fs.status('/ods.db/orders/.data'), undefined, 'uncommitted staging is gone');
  assert.deepEqual(await catalog.listPartitions('ods', 'orders'), [{ values: { dt: '2026-11-25' }, location: '/ods.db/orders/dt=2026-11-25' }]);

  // Idempotent: a second recovery (a crash during the first) changes nothing.
  await recover(store, fs, catalog, logger);
  assert.equal((await fs.list('/ods.db/orders/dt=2026-11-25')).length, 2);
  assert.equal((await catalog.listPartitions('ods', 'orders')).length, 1);
});

test("recovery leaves another writer's staging alone: only changelog tables are cleaned", async () => {
  const { fs, catalog, store } = await fixture();
  await catalog.createTable({
    database: 'ods',
    name: 'foreign',
    columns: [{ name: 'id', type: 'bigint' }],
    partitionColumns: [],
    format: 'text',
    location: '/ods.db/foreign',
  });
  await writeWholeFile(fs, '/ods.db/foreign/.data/0.flinkx.1', 'not ours\n');
  await writeWholeFile(fs, '/ods.db/orders/.data/dt=2026-11-26/0.job.2-2', 'ours, uncommitted\n');
  await recover(store, fs, catalog, logger);
  assert.equal((await fs.readFile('/ods.db/foreign/.data/0.flinkx.1')).toString(), 'not ours\n');
  assert.equal(await fs.status('/ods.db/orders/.data'), undefined);
});

test('a recorded file that vanished from both places is reported, not ignored', async () => {
  const { fs, catalog } = await fixture();
  await assert.rejects(
    executeCommits([{ kind: 'rename', from: '/ods.db/orders/.data/x', to: '/ods.db/orders/x' }], fs, catalog),
    (error: unknown) => isSluiceError(error, 'SLUICE_COMMIT_LOST') && error.message.includes('/ods.db/orders/.data/x'),
  );
});

test('a commit never replaces a file that exists', async () => {
  const { fs } = await fixture();
  await writeWholeFile(fs, '/a', 'new');
  await writeWholeFile(fs, '/b', 'old');
  await assert.rejects(fs.rename('/a', '/b'), (error: unknown) => isSluiceError(error, 'SLUICE_FILESYSTEM'));
  assert.equal((await fs.readFile('/b')).toString(), 'old');
});

test('recovery keeps the staged files of prepared XA transactions the newest record holds, and deletes the rest', async () => {
  const { fs, catalog, store } = await fixture();
  const held = '/ods.db/orders/.data/dt=2026-11-25/0.job.1-0';
  await writeWholeFile(fs, held, 'prepared\n');
  await writeWholeFile(fs, '/ods.db/orders/.data/dt=2026-11-25/0.job.1-1', 'uncommitted\n');
  await writeWholeFile(fs, '/ods.db/orders/.data/compact/dt=2026-11-20/c.job.1-0', 'unrecorded merge\n');
  const file = { from: held, to: '/ods.db/orders/dt=2026-11-25/0.job.1-0', database: 'ods', table: 'orders', values: { dt: '2026-11-25' }, location: '/ods.db/orders/dt=2026-11-25', firstSequence: '7' };
  await store.write({ ...record(1), preparedXa: { "X'6b657074',X'',1": [file] } });
  await recover(store, fs, catalog, logger);
  assert.equal((await fs.readFile(held)).toString(), 'prepared\n');
  assert.equal(await fs.status('/ods.db/orders/.data/dt=2026-11-25/0.job.1-1'), undefined);
  assert.equal(await fs.status('/ods.db/orders/.data/compact/dt=2026-11-20/c.job.1-0'), undefined);

  // A record without the field (as older versions wrote them) holds nothing: all staging goes.
  await store.write(record(2));
  await recover(store, fs, catalog, logger);
  assert.equal(await fs.status('/ods.db/orders/.data'), undefined);
});

test('a stopped table keeps the held XA files it will not read again, and gives up those it will', () => {
  const file = (table: string, firstSequence: string) => ({ from: `/ods.db/${table}/.data/${firstSequence}`, to: `/ods.db/${table}/${firstSequence}`, database: 'ods', table, values: {}, location: `/ods.db/${table}`, firstSequence });
  const held = new HeldXaFiles({ early: [file('orders', '5'), file('items', '6')] });
  held.prepare('late', [file('orders', '20'), file('items', '21')]);
  // The table holds every change before sequence 10 and reads again from there.
  assert.deepEqual(held.discard('ods', 'ORDERS', 10n), ['/ods.db/orders/.data/20']);
  assert.deepEqual(held.recorded(), { early: [file('orders', '5'), file('items', '6')], late: [file('items', '21')] });
  assert.ok(held.commit('early'));
  assert.deepEqual(held.takeReleased(), [
    { kind: 'rename', from: '/ods.db/orders/.data/5', to: '/ods.db/orders/5' },
    { kind: 'rename', from: '/ods.db/items/.data/6', to: '/ods.db/items/6' },
    { kind: 'partition', database: 'ods', table: 'orders', values: {}, location: '/ods.db/orders' },
    { kind: 'partition', database: 'ods', table: 'items', values: {}, location: '/ods.db/items' },
  ]);
  assert.equal(held.commit('early'), false, 'an outcome is taken once');
});

test('a record of format 1, as the previous version wrote it, is read as the binlog source and the Hive sink of format 2', async () => {
  const { store, fs, catalog } = await fixture();
  const file = { from: '/ods.db/orders/.data/x', to: '/ods.db/orders/x', database: 'ods', table: 'orders', values: { dt: '2026-11-25' }, location: '/ods.db/orders/dt=2026-11-25', firstSequence: '7' };
  const since = { kind: 'binlog' as const, position: { file: 'mysql-bin.000001', offset: 50, gtidSet: '0-1-3' }, nextSequence: '5' };
  // Verbatim: the shape a daemon of format 1 wrote, with every optional part.
  const old = {
    format: 1 as const,
    id: 3,
    jobId: 'oldjob',
    createdAt: '2026-11-25T00:00:00.000Z',
    source: { kind: 'binlog' as const, position: { file: 'mysql-bin.000001', offset: 300, gtidSet: '0-1-9' }, nextSequence: '30' },
    commits: [{ kind: 'rename' as const, from: '/ods.db/orders/.data/a', to: '/ods.db/orders/a' }],
    tables: { stopped: { 'ods.items': { since, code: 'SLUICE_SCHEMA_UNSUPPORTED', message: 'm', at: 'mysql-bin.000001:60', stoppedAt: '2026-11-25T00:00:00.000Z' } } },
    preparedXa: { "X'6b657074',X'',1": [file] },
  };
  mkdirSync(store.dir, { recursive: true });
  writeFileSync(join(store.dir, 'checkpoint-000000000003.json'), JSON.stringify(old));
  const read = await store.latest();
  assert.deepEqual(read, {
    format: 2,
    id: 3,
    jobId: 'oldjob',
    createdAt: '2026-11-25T00:00:00.000Z',
    sources: { binlog: old.source },
    sinks: { hive: { commits: old.commits, preparedXa: old.preparedXa } },
    tables: old.tables,
  });
  // The daemon, `checkpoint show` and the tests see it as it was written.
  assert.deepEqual(binlogHiveRecord(read!), old);
  assert.deepEqual(TableGate.resume(read, 'binlog').start, since, 'the stopped table is retried from its point');
  // Recovery finds the Hive sink's commits and held files under the new names.
  await writeWholeFile(fs, '/ods.db/orders/.data/a', 'committed\n');
  await writeWholeFile(fs, file.from, 'held\n');
  await recover(store, fs, catalog, logger);
  assert.equal((await fs.readFile('/ods.db/orders/a')).toString(), 'committed\n');
  assert.equal((await fs.readFile(file.from)).toString(), 'held\n');
  // A record of another pipeline is refused by name, not misread.
  await store.write({ ...read!, id: 4, sources: { counter: { kind: 'counter', position: 1, nextSequence: '2' } }, sinks: { memory: { commits: [] } } });
  const other = (await store.latest())!;
  assert.throws(() => binlogHiveRecord(other), (error: unknown) => isSluiceError(error, 'SLUICE_CHECKPOINT_CORRUPT') && /sources counter and the sinks memory/.test(error.message));
});

test("recovery of one loader among several deletes its own uncommitted staging and leaves the other loaders' alone", async () => {
  // Several Kafka loaders write one table (docs/kafka.md, the scale-out): each file name carries its
  // writer's job id, and a loader's job ids begin with its member name.
  const { fs, catalog, store } = await fixture();
  await writeWholeFile(fs, '/ods.db/orders/.data/dt=2026-11-26/0.loader1-mkk2a.3-0.txt', 'loader 1, uncommitted\n');
  await writeWholeFile(fs, '/ods.db/orders/.data/dt=2026-11-26/0.loader2-mkk2b.5-0.txt', 'loader 2, still being written\n');
  await writeWholeFile(fs, '/ods.db/orders/.data/dt=2026-11-27/0.loader1-mkk2a.3-1.txt', 'loader 1, uncommitted\n');
  const recoveries = { hive: new HiveRecovery(fs, catalog, store.state, logger, (jobId) => jobId.startsWith('loader1-')) };
  await recoverWith(store, recoveries, logger);
  assert.equal(await fs.status('/ods.db/orders/.data/dt=2026-11-26/0.loader1-mkk2a.3-0.txt'), undefined);
  assert.equal(await fs.status('/ods.db/orders/.data/dt=2026-11-27/0.loader1-mkk2a.3-1.txt'), undefined);
  assert.equal((await fs.readFile('/ods.db/orders/.data/dt=2026-11-26/0.loader2-mkk2b.5-0.txt')).toString(), 'loader 2, still being written\n');
  // Without the scope (one writer per table, the daemons of today), all of it is uncommitted work.
  await recover(store, fs, catalog, logger);
  assert.equal(await fs.status('/ods.db/orders/.data'), undefined);
});
