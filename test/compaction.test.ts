// Compaction of closed partitions on real files (local disk, local catalog): the merge keeps every
// line exactly once, touches only small sluice files of closed partitions, and a crash at each step
// of its commit ends, after recovery, with the old files or the new ones, never both, never neither.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { pino } from 'pino';
import type { StorageFormat } from '../src/catalog/catalog.ts';
import type { BinlogHiveRecord as CheckpointRecord } from '../src/pipeline/binlog-to-hive-record.ts';
import { readIntents, type CompactionIntent, type CompactionStep } from '../src/checkpoint/compaction-intent.ts';
import { recoverBinlogToHive as recover } from '../src/pipeline/binlog-to-hive-record.ts';
import { parseConfig } from '../src/config/load.ts';
import { isSluiceError } from '../src/core/errors.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { METADATA_COLUMNS } from '../src/sinks/changelog-layout.ts';
import { Compactor, DEFAULT_COMPACTION, type CompactionSettings } from '../src/sinks/compaction.ts';
import { parquetFormat } from '../src/sinks/parquet-format.ts';
import { isSluiceDataFile, partitionClosed, planPartition } from '../src/sinks/compaction-plan.ts';
import { prng } from './helpers/change-generator.ts';
import { localWarehouse, ORDERS_LOCATION } from './helpers/local-warehouse.ts';
import { writeWholeFile } from './helpers/whole-file.ts';

const logger = pino({ level: 'silent' });
const LOCATION = ORDERS_LOCATION;
const CLOSED = 'dt=2020-01-01';
const TODAY = `dt=${new Date().toISOString().slice(0, 10)}`;

async function fixture(options: { format?: StorageFormat; rollBytes?: number; settings?: Partial<CompactionSettings>; onStep?: (step: CompactionStep) => void } = {}) {
  const { dir, fs, catalog, store } = await localWarehouse('sluice-compaction-', [{ name: 'id', type: 'bigint' }, { name: 'note', type: 'string' }], options.format);
  for (const partition of [CLOSED, TODAY]) {
    await catalog.addPartition('ods', 'orders', { values: { dt: partition.slice(3) }, location: `${LOCATION}/${partition}` });
  }
  const compactor = new Compactor({
    fs,
    catalog,
    stateDir: store.dir,
    jobId: 'mjob2x9k0abc',
    rollBytes: options.rollBytes ?? 1 << 20,
    settings: { ...DEFAULT_COMPACTION, ...options.settings },
    logger,
    ...(options.onStep ? { onStep: options.onStep } : {}),
  });
  compactor.noteTarget({ database: 'ods', table: 'orders' });
  return { dir, fs, catalog, store, compactor };
}

type Fixture = Awaited<ReturnType<typeof fixture>>;

const random = prng(7);
/** Lines as the text codec writes them: \x01 between fields, escaped bytes, multi-byte UTF-8. */
function someLines(count: number, tag: string): string {
  let text = '';
  for (let i = 0; i < count; i++) {
    const note = ['é', '😀', '\\n', '\\\\', '\\N', ' ', 'x'][Math.floor(random() * 7)]!.repeat(1 + Math.floor(random() * 5));
    text += `${Math.floor(random() * 1e9)}\x01${tag}-${i}-${note}\x01insert\x012020-01-01 10:00:00\x010-1-${i}\x01${i}\x01shop.orders\n`;
  }
  return text;
}

/** A file of exactly `bytes` bytes of such lines (the last one padded). */
function fileOf(bytes: number, tag: string): string {
  const text = someLines(6, tag);
  const pad = bytes - Buffer.byteLength(text) - 'pad\x01\n'.length;
  assert.ok(pad >= 0);
  return `${text}pad\x01${'x'.repeat(pad)}\n`;
}

/** The visible files of a partition and their content, by name. */
async function visible(fs: LocalFileSystem, partition: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const file of await fs.list(`${LOCATION}/${partition}`)) {
    const name = file.path.slice(file.path.lastIndexOf('/') + 1);
    if (file.type === 'file' && !name.startsWith('.') && !name.startsWith('_')) files.set(name, await fs.readFile(file.path));
  }
  return files;
}

function linesOf(files: Map<string, Buffer>): string[] {
  const lines: string[] = [];
  for (const content of files.values()) {
    const text = content.toString('latin1');
    lines.push(...(text.endsWith('\n') ? text.slice(0, -1) : text).split('\n').filter((line, _index, all) => line !== '' || all.length > 1));
  }
  return lines.sort();
}

/** Six small sluice files of 1000 bytes (one without a final newline: 999), plus files compaction must leave alone. */
async function seed({ fs }: Fixture): Promise<{ closed: Map<string, Buffer>; today: Map<string, Buffer>; small: string[] }> {
  const small: string[] = [];
  for (let i = 0; i < 6; i++) {
    const name = `0.mjob1a2b3c4.${10 + i}-${i}`;
    small.push(name);
    const lines = fileOf(1000, name);
    await writeWholeFile(fs, `${LOCATION}/${CLOSED}/${name}`, i === 3 ? lines.slice(0, -1) : lines);
  }
  await writeWholeFile(fs, `${LOCATION}/${CLOSED}/0.mjob1a2b3c4.9-99`, fileOf(5000, 'big')); // not small
  await writeWholeFile(fs, `${LOCATION}/${CLOSED}/data-from-someone.txt`, someLines(2, 'foreign')); // not a sluice file
  await writeWholeFile(fs, `${LOCATION}/${CLOSED}/.hidden-0.mjob1a2b3c4.1-1`, 'hidden\n');
  for (let i = 0; i < 6; i++) await writeWholeFile(fs, `${LOCATION}/${TODAY}/0.mjob1a2b3c4.${20 + i}-${10 + i}`, someLines(10, `today-${i}`));
  return { closed: await visible(fs, CLOSED), today: await visible(fs, TODAY), small };
}

function assertNoLeftovers(f: Fixture): void {
  assert.deepEqual((existsSync(f.store.dir) ? readdirSync(f.store.dir) : []).filter((name) => name.startsWith('compaction-')), [], 'no intent record is left');
}

test('sink.compaction defaults, and a bad schedule names its key', () => {
  const minimal = 'source:\n  host: db.example\n  user: sluice\n';
  assert.deepEqual(parseConfig(minimal, '/etc/sluice/sluice.yaml', {}).sink.compaction, {
    enabled: true,
    schedule: '17 * * * *',
    closedAfterHours: 2,
    minFiles: 4,
    smallFileBytes: 67108864,
    maxPartitionsPerRun: 4,
  });
  const seconds = parseConfig(`${minimal}sink:\n  compaction:\n    schedule: '* * * * * *'\n`, 'x.yaml', {});
  assert.equal(seconds.sink.compaction.schedule, '* * * * * *');
  assert.throws(
    () => parseConfig(`${minimal}sink:\n  compaction:\n    schedule: '61 * * * *'\n`, 'sluice.yaml', {}),
    (error: unknown) => isSluiceError(error, 'SLUICE_CONFIG_INVALID') && /sluice\.yaml:6:15 sink\.compaction\.schedule: expected a cron expression.*61/.test(error.message),
  );
});

test('a partition is closed once its UTC day ended closedAfterHours ago', () => {
  const end = Date.UTC(2026, 0, 2); // 2026-01-01 ends here
  assert.equal(partitionClosed({ dt: '2026-01-01' }, 'dt', end + 2 * 3_600_000, 2), false);
  assert.equal(partitionClosed({ dt: '2026-01-01' }, 'dt', end + 2 * 3_600_000 + 1, 2), true);
  assert.equal(partitionClosed({ dt: '2026-01-01', hr: '05' }, 'dt', end + 3 * 3_600_000, 2), true);
  assert.equal(partitionClosed({ dt: 'garbage' }, 'dt', end * 2, 2), false);
  assert.equal(isSluiceDataFile('0.mie1xq3k9f2a1b.7-12', ''), true);
  assert.equal(isSluiceDataFile('c.mie1xq3k9f2a1b.7-0', ''), true);
  assert.equal(isSluiceDataFile('c.mie1xq3k9f2a1b.7-0.parquet', '.parquet'), true);
  assert.equal(isSluiceDataFile('0.mie1xq3k9f2a1b.7-12.parquet', ''), false);
  assert.equal(isSluiceDataFile('part-00000', ''), false);
});

test('planning fills groups up to rollBytes, leaves singletons, and refuses merges that save nothing', () => {
  const file = (name: string, length: number) => ({ path: `/t/dt=2020-01-01/${name}`, type: 'file' as const, length });
  const options = { extension: '', smallFileBytes: 100, rollBytes: 100, minFiles: 3, protectedNames: new Set<string>() };
  const files = ['0.a.1-1', '0.a.1-2', '0.a.1-3', '0.a.1-4', '0.a.1-5'].map((name) => file(name, 40));
  assert.deepEqual(planPartition(files, options)?.map((group) => group.length), [2, 2]); // 40+40 | 40+40 | 40 alone
  assert.equal(planPartition(files.slice(0, 2), options), undefined, 'fewer than minFiles');
  assert.equal(planPartition(files.map((f) => ({ ...f, length: 60 })), options), undefined, 'no two fit in one roll');
  const guarded = planPartition(files, { ...options, protectedNames: new Set(['0.a.1-1', '0.a.1-2', '0.a.1-3']) });
  assert.equal(guarded, undefined, 'files a kept checkpoint record commits are never inputs');
});

test('a closed partition merges its small files into fewer files holding exactly the same lines', async () => {
  // Six files of 1000 bytes into rolls of 3000: two outputs of three inputs each.
  const f = await fixture({ rollBytes: 3000, settings: { smallFileBytes: 2000 } });
  const before = await seed(f);
  const figures = await f.compactor.run(41);
  assert.equal(figures.partitions, 1);
  const after = await visible(f.fs, CLOSED);
  assert.deepEqual(linesOf(after), linesOf(before.closed), 'the same multiset of lines');
  for (const name of before.small) assert.ok(!after.has(name), `${name} was merged away`);
  assert.ok(after.has('0.mjob1a2b3c4.9-99') && after.has('data-from-someone.txt'), 'big and foreign files stay');
  assert.ok(existsSync(join(f.dir, 'warehouse', LOCATION, CLOSED, '.hidden-0.mjob1a2b3c4.1-1')), 'hidden files stay');
  const outputs = [...after.keys()].filter((name) => name.startsWith('c.'));
  assert.equal(outputs.length, figures.filesOut);
  assert.equal(outputs.length, 2, 'two outputs of up to rollBytes');
  for (const name of outputs) {
    assert.match(name, /^c\.mjob2x9k0abc\.41-\d+$/);
    assert.equal(after.get(name)!.length, 3000, `${name} fills one roll (the missing newline added)`);
  }
  assert.deepEqual(await visible(f.fs, TODAY), before.today, 'the open partition is untouched');
  assertNoLeftovers(f);
  // A second run finds nothing more worth merging.
  assert.equal((await f.compactor.run(42)).partitions, 0);
});

test('files that a kept checkpoint record commits are left for a later run', async () => {
  const f = await fixture({ settings: { minFiles: 3 } });
  const before = await seed(f);
  const record: CheckpointRecord = {
    format: 1,
    id: 12,
    jobId: 'mjob1a2b3c4',
    createdAt: new Date().toISOString(),
    source: { kind: 'binlog', position: { file: 'mysql-bin.000001', offset: 4, gtidSet: '0-1-1' }, nextSequence: '1' },
    commits: before.small.slice(0, 3).map((name) => ({ kind: 'rename', from: `${LOCATION}/.data/${CLOSED}/${name}`, to: `${LOCATION}/${CLOSED}/${name}` })),
  };
  await f.store.write(record);
  await f.compactor.run(13);
  const after = await visible(f.fs, CLOSED);
  for (const name of before.small.slice(0, 3)) assert.ok(after.has(name), `${name} stays: recovery may redo its rename`);
  for (const name of before.small.slice(3)) assert.ok(!after.has(name), `${name} was merged`);
  assert.deepEqual(linesOf(after), linesOf(before.closed));
  // The newest record's commits redone after the merge still find their files: no SLUICE_COMMIT_LOST.
  await recover(f.store, f.fs, f.catalog, logger);
});

test('a parquet table is merged by row group; a file that cannot be merged exactly leaves the table as it is', async () => {
  const parquet = await fixture({ format: 'parquet' });
  const columns = [{ name: 'id', type: 'bigint' }, { name: 'note', type: 'string' }, ...METADATA_COLUMNS];
  const written: string[] = [];
  for (let i = 0; i < 5; i++) {
    const file = await parquet.fs.create(`${LOCATION}/${CLOSED}/0.mjob1a2b3c4.${i}-${i}.parquet`);
    const writer = parquetFormat.open(file, columns);
    for (let row = 0; row < 3; row++) {
      const values = [String(i * 10 + row), `note ${i}-${row} 😀`, 'insert', '2020-01-01 10:00:00', `0-1-${i}`, String(i * 10 + row), 'shop.orders'];
      written.push(values.join('|'));
      await writer.write(values);
    }
    await writer.close();
  }
  assert.equal((await parquet.compactor.run(1)).partitions, 1);
  const merged = await visible(parquet.fs, CLOSED);
  assert.deepEqual([...merged.keys()].map((name) => name.replace(/\d+-\d+/, 'N')), ['c.mjob2x9k0abc.N.parquet']);
  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  try {
    const read = await duck.runAndReadAll(`SELECT * FROM read_parquet('${join(parquet.dir, 'warehouse', LOCATION, CLOSED, [...merged.keys()][0]!)}')`);
    const rows = read.getRowObjects().map((row) => [String(row.id), row.note, row._op, String(row._event_time), row._position, String(row._seq), row._source].join('|'));
    assert.deepEqual(rows.sort(), written.map((line) => line.replace('2020-01-01 10:00:00', '2020-01-01 10:00:00')).sort());
  } finally {
    duck.closeSync();
    instance.closeSync();
  }

  const damaged = await fixture({ format: 'parquet' });
  for (let i = 0; i < 5; i++) await writeWholeFile(damaged.fs, `${LOCATION}/${CLOSED}/0.mjob1a2b3c4.${i}-${i}.parquet`, 'PAR1');
  assert.equal((await damaged.compactor.run(1)).partitions, 0);
  assert.equal((await visible(damaged.fs, CLOSED)).size, 5, 'the files stay as they were');
  assert.deepEqual(await readIntents(damaged.store.dir), [], 'nothing was recorded');
});

test('maxPartitionsPerRun bounds a run', async () => {
  const f = await fixture({ settings: { maxPartitionsPerRun: 1, closedAfterHours: 0 } });
  const yesterday = `dt=${new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)}`;
  await f.catalog.addPartition('ods', 'orders', { values: { dt: yesterday.slice(3) }, location: `${LOCATION}/${yesterday}` });
  for (const partition of [CLOSED, yesterday]) {
    for (let i = 0; i < 4; i++) await writeWholeFile(f.fs, `${LOCATION}/${partition}/0.mjob1a2b3c4.${i}-${i}`, someLines(3, partition));
  }
  assert.equal((await f.compactor.run(1)).partitions, 1);
  assert.equal((await f.compactor.run(2)).partitions, 1);
  assert.equal((await visible(f.fs, CLOSED)).size, 1);
  assert.equal((await visible(f.fs, yesterday)).size, 1);
});

test('a table this run has not written to is left alone, whoever else writes it', async () => {
  const f = await fixture();
  const before = await seed(f);
  const other = new Compactor({ fs: f.fs, catalog: f.catalog, stateDir: f.store.dir, jobId: 'mjob3', rollBytes: 1 << 20, settings: DEFAULT_COMPACTION, logger });
  assert.equal((await other.run(1)).partitions, 0);
  other.noteTarget({ database: 'ods', table: 'elsewhere' });
  assert.equal((await other.run(2)).partitions, 0);
  assert.deepEqual(await visible(f.fs, CLOSED), before.closed);
});

test('the schedule marks a run as due; runIfDue runs once per firing', async () => {
  const f = await fixture({ settings: { schedule: '* * * * * *' } });
  await seed(f);
  assert.equal(await f.compactor.runIfDue(1), undefined, 'not due before the schedule fires');
  f.compactor.start();
  try {
    const deadline = Date.now() + 3000;
    while (!f.compactor.isDue && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(f.compactor.isDue, 'the every-second schedule fired');
    assert.equal((await f.compactor.runIfDue(1))?.partitions, 1);
  } finally {
    f.compactor.stop();
  }
});

// Each crash point, played by stopping the work there (the hook throws, as a kill would end it),
// then recovery, twice: the partition holds the old files or the new, every line exactly once.
const crashPoints: { label: string; at: (step: CompactionStep) => boolean; recorded: boolean }[] = [
  { label: 'outputs staged, no record yet', at: (s) => s.step === 'staged', recorded: false },
  { label: 'record written, no rename yet', at: (s) => s.step === 'recorded', recorded: true },
  { label: 'one of two outputs renamed', at: (s) => s.step === 'renamed' && s.index === 0, recorded: true },
  { label: 'all outputs renamed, no input deleted', at: (s) => s.step === 'renamed' && s.index === 1, recorded: true },
  { label: 'some inputs deleted', at: (s) => s.step === 'deleted' && s.index === 2, recorded: true },
  { label: 'all inputs deleted, record not yet removed', at: (s) => s.step === 'deleted' && s.index === 5, recorded: true },
];

for (const point of crashPoints) {
  test(`a crash with ${point.label} recovers to exactly one copy of every line`, async () => {
    const f = await fixture({
      // Two outputs: the six small files of 1000 bytes fill two rolls of 3000.
      rollBytes: 3000,
      settings: { smallFileBytes: 2000 },
      onStep: (step) => {
        if (!point.at(step)) return;
        throw new Error(`crash at ${point.label}`);
      },
    });
    const before = await seed(f);
    await assert.rejects(f.compactor.run(5), /crash at/);
    const intents = await readIntents(f.store.dir);
    assert.equal(intents.length, point.recorded ? 1 : 0);
    const intent: CompactionIntent | undefined = intents[0];
    if (intent) assert.equal(intent.outputs.length, 2, 'the fixture makes two outputs');

    for (let attempt = 0; attempt < 2; attempt++) {
      await recover(f.store, f.fs, f.catalog, logger);
      const after = await visible(f.fs, CLOSED);
      assert.deepEqual(linesOf(after), linesOf(before.closed), `every line exactly once after recovery #${attempt + 1}`);
      const merged = [...after.keys()].filter((name) => name.startsWith('c.'));
      const kept = before.small.filter((name) => after.has(name));
      if (point.recorded) {
        assert.deepEqual(kept, [], 'a recorded compaction is rolled forward: no input is left');
        assert.deepEqual(merged.sort(), intent!.outputs.map((output) => output.to.slice(output.to.lastIndexOf('/') + 1)).sort());
      } else {
        assert.deepEqual(kept, before.small, 'without a record, the old files are the truth');
        assert.deepEqual(merged, [], 'and no merged file is visible');
      }
      assert.ok(!existsSync(join(f.dir, 'warehouse', LOCATION, '.data')), 'staging is gone');
      assert.deepEqual(await visible(f.fs, TODAY), before.today);
      assertNoLeftovers(f);
    }
  });
}

test('recovery rolls back a record whose merged file vanished while every input remains, and refuses when rows are gone', async () => {
  const f = await fixture({ onStep: (step) => { if (step.step === 'recorded') throw new Error('crash'); } });
  const before = await seed(f);
  await assert.rejects(f.compactor.run(5));
  const [intent] = await readIntents(f.store.dir);
  await f.fs.delete(intent!.outputs[0]!.from, false);
  await recover(f.store, f.fs, f.catalog, logger);
  assert.deepEqual(await visible(f.fs, CLOSED), before.closed, 'the old files stay, nothing else');
  assertNoLeftovers(f);

  const g = await fixture({ onStep: (step) => { if (step.step === 'deleted') throw new Error('crash'); } });
  await seed(g);
  await assert.rejects(g.compactor.run(5));
  const [deleting] = await readIntents(g.store.dir);
  await g.fs.delete(deleting!.outputs[0]!.to, false);
  await assert.rejects(recover(g.store, g.fs, g.catalog, logger), (error: unknown) => isSluiceError(error, 'SLUICE_COMMIT_LOST'));
});
