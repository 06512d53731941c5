// The per-row counters (changes read, rows and bytes written) are kept in plain tallies on the hot
// path and added to Prometheus at each read: whatever reads them (/metrics, the status page's
// get()) must see every row counted so far, exactly.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import type { ChangeEvent } from '../src/core/change-event.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { SluiceMetrics } from '../src/runtime/metrics.ts';
import { HiveChangelogSink } from '../src/sinks/hive-changelog-sink.ts';

const columns = [
  { name: 'id', mysqlType: 'int', charset: null },
  { name: 'note', mysqlType: 'varchar(100)', charset: 'utf8mb4' },
];

function change(table: string, sequence: number): ChangeEvent {
  return {
    schema: 'shop',
    table,
    op: 'insert',
    columns,
    before: null,
    after: [String(sequence), `note ${sequence} é`],
    commitTs: 1_795_600_000,
    position: { file: 'mysql-bin.000001', offset: 100 + sequence },
    sequence: BigInt(sequence),
  };
}

function sample(body: string, line: string): number | undefined {
  const found = body.split('\n').find((candidate) => candidate.startsWith(line + ' '));
  return found === undefined ? undefined : Number(found.slice(found.lastIndexOf(' ') + 1));
}

function filesBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  return total;
}

test('rows, bytes and changes read are exact whenever they are read, between rows as after a commit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-tally-'));
  const metrics = new SluiceMetrics();
  const sink = new HiveChangelogSink({
    fs: new LocalFileSystem(join(dir, 'fs')),
    catalog: new LocalCatalog(join(dir, 'catalog')),
    warehouse: '/',
    format: 'text',
    partition: { granularity: 'day', dayColumn: 'dt', hourColumn: 'hr' },
    rollBytes: 1 << 30,
    rollSeconds: 0,
    channel: 0,
    jobId: 'job',
    logger: pino({ level: 'silent' }),
    metrics,
  });
  const changesRead = metrics.tally(metrics.changesRead);
  assert.equal(metrics.tally(metrics.changesRead), changesRead, 'one tally per series, however often asked for');
  const rows = (body: string, table: string) => sample(body, `sluice_rows_written_total{table="ods.${table}"}`);
  let sequence = 0;
  const write = async (table: string, count: number) => {
    for (let index = 0; index < count; index++) {
      await sink.write({ database: 'ods', table }, change(table, ++sequence), 1);
      changesRead.add();
    }
  };

  await write('a', 3);
  await write('b', 2);
  await write('a', 1);
  let body = await metrics.registry.metrics();
  assert.equal(rows(body, 'a'), 4);
  assert.equal(rows(body, 'b'), 2);
  assert.equal(sample(body, 'sluice_changes_read_total'), 6);
  // As the status page reads them.
  assert.equal((await metrics.changesRead.get()).values[0]?.value, 6);

  await write('b', 5);
  assert.equal((await metrics.rowsWritten.get()).values.find((value) => value.labels.table === 'ods.b')?.value, 7, 'counted again since the last read');
  await sink.preCommit();
  body = await metrics.registry.metrics();
  assert.equal(rows(body, 'a'), 4);
  assert.equal(rows(body, 'b'), 7);
  assert.equal(sample(body, 'sluice_changes_read_total'), 11);
  const bytes = (sample(body, 'sluice_bytes_written_total{table="ods.a"}') ?? 0) + (sample(body, 'sluice_bytes_written_total{table="ods.b"}') ?? 0);
  assert.equal(bytes, filesBytes(join(dir, 'fs')), 'the bytes counted are the bytes in the staged files');

  // A tally touched with nothing to add still shows its series, as a counter's inc(0) did.
  metrics.tally(metrics.bytesWritten, { table: 'ods.empty' }).add(0);
  assert.equal(sample(await metrics.registry.metrics(), 'sluice_bytes_written_total{table="ods.empty"}'), 0);
});
