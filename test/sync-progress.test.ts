// What a person watching `sluice sync` sees: per channel rows done of the total, rows/s and an ETA,
// redrawn in place on a terminal, and the same figures in the log otherwise.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { capture } from './helpers/captured-stream.ts';
import { SyncMetrics, SyncProgress, formatDuration } from '../src/sync/sync-progress.ts';

test('figures: rows done, rate over the last seconds, ETA from the rate; a finished channel says done', async () => {
  const progress = new SyncProgress('j', [1000, 500], [100, 0], pino({ level: 'silent' }), undefined, undefined);
  await new Promise((resolve) => setTimeout(resolve, 200));
  progress.add(0, 400);
  progress.add(1, 500);
  progress.finish(1);
  const [first, second] = progress.figures();
  assert.equal(first!.done, 500);
  assert.equal(first!.total, 1000);
  assert.ok(first!.rowsPerSecond > 400 && first!.rowsPerSecond < 2500, `rate ${first!.rowsPerSecond}`);
  assert.ok(first!.etaSeconds !== undefined && Math.abs(first!.etaSeconds - 500 / first!.rowsPerSecond) < 1e-9);
  assert.equal(second!.etaSeconds, 0);
  assert.equal(second!.finished, true);
});

test('on a terminal: one line per channel, redrawn in place', () => {
  const out = capture();
  const progress = new SyncProgress('j', [2_000_000, 10], [0, 0], pino({ level: 'silent' }), out.stream, undefined);
  progress.add(0, 1_234_567);
  progress.finish(1);
  progress.stop();
  progress.stop();
  const text = out.text();
  assert.match(text, /channel 0: 1,234,567 \/ 2,000,000 rows \(61\.7%\)\s+[\d,]+ rows\/s\s+ETA /);
  assert.match(text, /channel 1: 0 \/ 10 rows \(0\.0%\)\s+0 rows\/s\s+done/);
  // The second draw moves the cursor up over the two lines of the first.
  assert.ok(text.includes('\x1b[2F'), JSON.stringify(text));
});

test('without a terminal: the figures go to the log, and to the metrics', async () => {
  const out = capture();
  const metrics = new SyncMetrics();
  const progress = new SyncProgress('orders', [100, 100], [0, 0], pino({ level: 'info' }, out.stream), undefined, metrics);
  progress.add(0, 60);
  progress.committed([60, 0]);
  progress.stop();
  const line = JSON.parse(out.text().trim().split('\n').at(-1)!) as { msg: string; channels: { channel: number; rows: number; total: number }[] };
  assert.equal(line.msg, 'sync orders: 60 of 200 rows (30.0%)');
  assert.deepEqual(line.channels.map((c) => [c.channel, c.rows, c.total]), [[0, 60, 100], [1, 0, 100]]);
  const exposition = await metrics.registry.metrics();
  assert.match(exposition, /sluice_sync_rows_committed\{job="orders",channel="0"\} 60/);
  assert.match(exposition, /sluice_sync_rows_expected\{job="orders",channel="1"\} 100/);
  assert.match(exposition, /sluice_sync_checkpoints_total\{job="orders"\} 1/);
});

test('durations read like a person writes them', () => {
  assert.equal(formatDuration(undefined), '?');
  assert.equal(formatDuration(42.4), '42s');
  assert.equal(formatDuration(125), '2m05s');
  assert.equal(formatDuration(3 * 3600 + 7 * 60), '3h07m');
});
