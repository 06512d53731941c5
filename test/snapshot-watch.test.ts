// What a person watching the snapshot sees per table (src/sources/snapshot/snapshot-watch.ts): rows
// done of the server's estimate, rows/s and ETA, as a line redrawn in place on a terminal or as JSON
// log lines in a pipe, and the estimate as a Prometheus gauge. Times are given, not waited for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { capture } from './helpers/captured-stream.ts';
import { SluiceMetrics } from '../src/runtime/metrics.ts';
import { SnapshotWatch } from '../src/sources/snapshot/snapshot-watch.ts';

function logLines(text: string): Record<string, unknown>[] {
  return text.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
}

test('in a pipe: a JSON line every 10 s with rows, rows/s, the estimate and the ETA, and one when the table is done', async () => {
  const out = capture();
  const metrics = new SluiceMetrics();
  const watch = new SnapshotWatch(pino({ level: 'info' }, out.stream), metrics);
  // Resumed with 200 rows done before this run; the server estimates 1,200.
  watch.begin('shop.orders', 200, 0);
  assert.equal(watch.wantsEstimate('shop.orders'), true);
  assert.equal(watch.wantsEstimate('shop.orders'), false, 'asked once per table and run');
  watch.estimated('shop.orders', 1200);
  watch.chunk('shop.orders', 300, false, 5_000); // within 10 s of the start: not logged
  watch.chunk('shop.orders', 400, false, 10_000);
  watch.chunk('shop.orders', 1250, true, 12_000);
  const lines = logLines(out.text());
  assert.equal(lines.length, 2, out.text());
  assert.deepEqual(
    { ...lines[0], level: undefined, time: undefined, pid: undefined, hostname: undefined },
    { level: undefined, time: undefined, pid: undefined, hostname: undefined, table: 'shop.orders', rows: 400, rowsPerSecond: 20, estimatedRows: 1200, etaSeconds: 40, done: false, msg: 'snapshot of shop.orders: 400 of about 1200 rows so far' },
  );
  // Done: the rows read are the total now (the estimate was low), and nothing is left.
  assert.equal(lines[1]!.msg, 'snapshot of shop.orders done: 1250 rows');
  assert.equal(lines[1]!.estimatedRows, 1250);
  assert.equal(lines[1]!.etaSeconds, 0);
  assert.match(await metrics.registry.metrics(), /sluice_snapshot_rows_estimated\{source="shop.orders"\} 1250/);
});

test('Prometheus: rows/s and the ETA per table as gauges, set when the progress shows; no ETA sample while unknown; 0 once done', async () => {
  const metrics = new SluiceMetrics();
  const watch = new SnapshotWatch(pino({ level: 'silent' }), metrics);
  const sample = async (name: string, table: string): Promise<string | undefined> =>
    new RegExp(`^${name}\\{source="${table.replace('.', '\\.')}"\\} (\\S+)$`, 'm').exec(await metrics.registry.metrics())?.[1];
  watch.begin('shop.orders', 0, 0);
  watch.estimated('shop.orders', 1000);
  watch.chunk('shop.orders', 200, false, 10_000);
  assert.equal(await sample('sluice_snapshot_rows_per_second', 'shop.orders'), '20');
  assert.equal(await sample('sluice_snapshot_eta_seconds', 'shop.orders'), '40');
  watch.chunk('shop.orders', 1000, true, 15_000);
  assert.equal(await sample('sluice_snapshot_rows_per_second', 'shop.orders'), '0');
  assert.equal(await sample('sluice_snapshot_eta_seconds', 'shop.orders'), '0');
  // Past a low estimate: the ETA is unknown, so the series has no sample.
  watch.begin('shop.low', 0, 0);
  watch.estimated('shop.low', 10);
  watch.chunk('shop.low', 50, false, 10_000);
  assert.equal(await sample('sluice_snapshot_rows_per_second', 'shop.low'), '5');
  assert.equal(await sample('sluice_snapshot_eta_seconds', 'shop.low'), undefined);
});

test('past a low estimate, or with no estimate, the ETA is unknown rather than a made-up 0', () => {
  const watch = new SnapshotWatch(pino({ level: 'silent' }), new SluiceMetrics());
  watch.begin('a.low', 0, 0);
  watch.estimated('a.low', 100);
  const low = watch.figures('a.low', 150, false, 1000);
  assert.equal(low.estimatedRows, 150);
  assert.equal(low.etaSeconds, undefined);
  watch.begin('a.none', 0, 0);
  watch.estimated('a.none', undefined);
  assert.deepEqual(watch.figures('a.none', 10, false, 1000), { rows: 10, estimatedRows: undefined, rowsPerSecond: 10, etaSeconds: undefined });
});

test('the gauge holds the estimate while the table is read', async () => {
  const metrics = new SluiceMetrics();
  const watch = new SnapshotWatch(pino({ level: 'silent' }), metrics);
  watch.begin('shop.users', 0, 0);
  watch.estimated('shop.users', 5000);
  watch.chunk('shop.users', 1000, false, 100);
  assert.match(await metrics.registry.metrics(), /sluice_snapshot_rows_estimated\{source="shop.users"\} 5000/);
});

test('on a terminal: the batch copy\'s line, redrawn in place each second, left standing when the table is done', () => {
  const tty = capture();
  const log = capture();
  const watch = new SnapshotWatch(pino({ level: 'info' }, log.stream), new SluiceMetrics(), tty.stream);
  watch.begin('shop.orders', 0, 0);
  watch.estimated('shop.orders', 2_000_000);
  watch.chunk('shop.orders', 500_000, false, 1000);
  watch.chunk('shop.orders', 600_000, false, 1500); // within a second: not drawn
  watch.chunk('shop.orders', 1_000_000, false, 2000);
  watch.chunk('shop.orders', 2_000_000, true, 3000);
  watch.begin('shop.users', 0, 3000);
  watch.estimated('shop.users', 10);
  watch.chunk('shop.users', 10, true, 4000);
  const text = tty.text();
  assert.ok(text.startsWith('\x1b[2Ksnapshot shop.orders: 500,000 / ~2,000,000 rows (25.0%)  500,000 rows/s  ETA 3s\n'), JSON.stringify(text));
  assert.ok(text.includes('\x1b[1F\x1b[2Ksnapshot shop.orders: 1,000,000 / ~2,000,000 rows (50.0%)'), JSON.stringify(text));
  assert.ok(!text.includes('600,000'), 'no redraw within a second');
  // The done line replaces the last; the next table's line comes below it, not over it.
  assert.ok(text.includes('\x1b[1F\x1b[2Ksnapshot shop.orders: 2,000,000 / 2,000,000 rows (100.0%)  666,667 rows/s  done\n\x1b[2Ksnapshot shop.users: 10 / 10 rows (100.0%)'), JSON.stringify(text));
  // No periodic log lines on a terminal; the done lines stay in the log.
  assert.deepEqual(logLines(log.text()).map((line) => line.msg), ['snapshot of shop.orders done: 2000000 rows', 'snapshot of shop.users done: 10 rows']);
});
