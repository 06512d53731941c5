// Files roll by size and by age within one checkpoint; each rolled file is committed with the rest.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { executeCommits } from '../src/sinks/hive-commits.ts';
import type { ChangeEvent } from '../src/core/change-event.ts';
import type { FileWriter } from '../src/filesystem/filesystem.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { HiveChangelogSink } from '../src/sinks/hive-changelog-sink.ts';
import { bySequence, readCommittedRows } from './helpers/warehouse.ts';

const columns = [
  { name: 'id', mysqlType: 'int', charset: null },
  { name: 'note', mysqlType: 'varchar(100)', charset: 'utf8mb4' },
];

function change(sequence: number): ChangeEvent {
  return {
    schema: 'shop',
    table: 't',
    op: 'insert',
    columns,
    before: null,
    after: [String(sequence), 'x'.repeat(50)],
    commitTs: 1_795_600_000,
    position: { file: 'mysql-bin.000001', offset: 100, gtid: `0-1-${sequence}` },
    sequence: BigInt(sequence),
  };
}

function sinkOn(fs: LocalFileSystem, catalog: LocalCatalog, rollBytes: number, rollSeconds: number): HiveChangelogSink {
  return new HiveChangelogSink({
    fs,
    catalog,
    warehouse: '/',
    format: 'text',
    partition: { granularity: 'day', dayColumn: 'dt', hourColumn: 'hr' },
    rollBytes,
    rollSeconds,
    channel: 0,
    jobId: 'job',
    logger: pino({ level: 'silent' }),
  });
}

async function writeAndCommit(rollBytes: number, rollSeconds: number, pauseMs: number) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-roll-'));
  const fs = new LocalFileSystem(join(dir, 'fs'));
  const catalog = new LocalCatalog(join(dir, 'catalog'));
  const sink = sinkOn(fs, catalog, rollBytes, rollSeconds);
  for (let sequence = 1; sequence <= 6; sequence++) {
    await sink.write({ database: 'ods', table: 't' }, change(sequence), 1);
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  const commits = await sink.preCommit();
  await executeCommits(commits, fs, catalog);
  const files = await fs.list(`/ods.db/t/dt=${new Date(1_795_600_000_000).toISOString().slice(0, 10)}`);
  const rows = bySequence(await readCommittedRows(catalog, fs, 'ods', 't'));
  return { files: files.map((file) => file.path.slice(file.path.lastIndexOf('/') + 1)), ids: rows.map((row) => row.id) };
}

test('a file rolls once it passes rollBytes; every row is committed once', async () => {
  const { files, ids } = await writeAndCommit(200, 0, 0);
  assert.ok(files.length >= 2, `several files: ${files.join(', ')}`);
  assert.deepEqual(ids, ['1', '2', '3', '4', '5', '6']);
  assert.equal(new Set(files).size, files.length);
});

test('a file rolls once it has been open rollSeconds; every row is committed once', async () => {
  const { files, ids } = await writeAndCommit(1 << 30, 0.02, 30);
  assert.equal(files.length, 3, `rows 1-2, 3-4, 5-6 in files of their own: ${files.join(', ')}`);
  assert.deepEqual(ids, ['1', '2', '3', '4', '5', '6']);
});

test('an age past the longest timer (24.8 days) does not roll every file at once', async () => {
  const { files, ids } = await writeAndCommit(1 << 30, 3_000_000, 5);
  assert.equal(files.length, 1, files.join(', '));
  assert.deepEqual(ids, ['1', '2', '3', '4', '5', '6']);
});

test('without size or age limits one file holds the checkpoint', async () => {
  const { files } = await writeAndCommit(1 << 30, 0, 0);
  assert.equal(files.length, 1);
});

/** A local file system whose writers' close waits for what `closing` gives (and fails, when that rejects). */
class SlowClosingFileSystem extends LocalFileSystem {
  closesStarted = 0;
  constructor(
    root: string,
    private readonly closing: () => Promise<void>,
  ) {
    super(root);
  }

  override async create(path: string): Promise<FileWriter> {
    const writer = await super.create(path);
    const closing = this.closing;
    const started = () => this.closesStarted++;
    return Object.assign(Object.create(Object.getPrototypeOf(writer) as object) as FileWriter, writer, {
      async close(): Promise<void> {
        started();
        await closing();
        await writer.close();
      },
    });
  }
}

test('the stream goes on while a rolled file is made durable; the checkpoint waits for it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-roll-'));
  let open!: () => void;
  const fs = new SlowClosingFileSystem(join(dir, 'fs'), () => gate);
  const gate = new Promise<void>((resolve) => (open = resolve));
  const catalog = new LocalCatalog(join(dir, 'catalog'));
  const sink = sinkOn(fs, catalog, 200, 0);
  // Rows 1-3 fill the first file past 200 bytes: it rolls, and its close hangs until `open`.
  for (let sequence = 1; sequence <= 4; sequence++) await sink.write({ database: 'ods', table: 't' }, change(sequence), 1);
  assert.equal(fs.closesStarted, 1, 'the first file rolled and its close began; the rows after it were written meanwhile');
  let committed = false;
  const preCommit = sink.preCommit().then((commits) => ((committed = true), commits));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(committed, false, 'the checkpoint does not go on before the rolled file is durable');
  open();
  await executeCommits(await preCommit, fs, catalog);
  const rows = bySequence(await readCommittedRows(catalog, fs, 'ods', 't'));
  assert.deepEqual(
    rows.map((row) => row.id),
    ['1', '2', '3', '4'],
  );
});

test("a rolled file whose close fails fails the checkpoint's commit with that error", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-roll-'));
  const failure = Object.assign(new Error('ENOSPC: no space left on device, fsync'), { code: 'ENOSPC' });
  const fs = new SlowClosingFileSystem(join(dir, 'fs'), () => Promise.reject(failure));
  const catalog = new LocalCatalog(join(dir, 'catalog'));
  const sink = sinkOn(fs, catalog, 200, 0);
  for (let sequence = 1; sequence <= 4; sequence++) await sink.write({ database: 'ods', table: 't' }, change(sequence), 1);
  await assert.rejects(sink.preCommit(), { code: 'ENOSPC' });
  await sink.abort();
});
