// Progress of a batch job for the person waiting on it: rows done, rows/s and ETA per channel. On a
// terminal the figures redraw in place every second; otherwise they go to the log every few seconds
// (and, when metrics are on, to Prometheus gauges).
import type { Logger } from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';

export class SyncMetrics {
  readonly registry = new Registry();
  readonly rows = new Gauge({ name: 'sluice_sync_rows_committed', help: 'Rows committed per channel.', labelNames: ['job', 'channel'] as const, registers: [this.registry] });
  readonly rowsRead = new Counter({ name: 'sluice_sync_rows_read_total', help: 'Rows read from the source per channel (committed or not).', labelNames: ['job', 'channel'] as const, registers: [this.registry] });
  readonly expected = new Gauge({ name: 'sluice_sync_rows_expected', help: 'Rows each channel has to copy in all.', labelNames: ['job', 'channel'] as const, registers: [this.registry] });
  readonly checkpoints = new Counter({ name: 'sluice_sync_checkpoints_total', help: 'Checkpoints committed.', labelNames: ['job'] as const, registers: [this.registry] });
}

interface ChannelFigures {
  total: number;
  done: number;
  finished: boolean;
  /** (time ms, rows done) samples over the last window, for the rate. */
  samples: [number, number][];
}

const RATE_WINDOW_MS = 10_000;

export class SyncProgress {
  private readonly channels: ChannelFigures[];
  private timer: NodeJS.Timeout | undefined;
  private drawnLines = 0;
  private readonly startedAt = Date.now();

  constructor(
    private readonly job: string,
    totals: number[],
    done: number[],
    private readonly logger: Logger,
    private readonly tty: NodeJS.WriteStream | undefined,
    private readonly metrics: SyncMetrics | undefined,
  ) {
    const now = Date.now();
    this.channels = totals.map((total, index) => ({ total: Math.max(total, done[index] ?? 0), done: done[index] ?? 0, finished: false, samples: [[now, done[index] ?? 0]] }));
    totals.forEach((total, index) => metrics?.expected.set({ job, channel: String(index) }, total));
  }

  add(channel: number, rows: number): void {
    const figures = this.channels[channel]!;
    figures.done += rows;
    if (figures.done > figures.total) figures.total = figures.done;
    this.metrics?.rowsRead.inc({ job: this.job, channel: String(channel) }, rows);
  }

  finish(channel: number): void {
    this.channels[channel]!.finished = true;
  }

  committed(rowsPerChannel: readonly number[]): void {
    rowsPerChannel.forEach((rows, index) => this.metrics?.rows.set({ job: this.job, channel: String(index) }, rows));
    this.metrics?.checkpoints.inc({ job: this.job });
  }

  start(): void {
    const every = this.tty ? 1000 : 10_000;
    this.timer = setInterval(() => this.report(), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.report();
  }

  /** Each channel's figures now: rows done, total, rows/s over the last seconds, seconds to go. */
  figures(): { channel: number; done: number; total: number; rowsPerSecond: number; etaSeconds: number | undefined; finished: boolean }[] {
    const now = Date.now();
    return this.channels.map((figures, channel) => {
      figures.samples.push([now, figures.done]);
      while (figures.samples.length > 2 && now - figures.samples[0]![0] > RATE_WINDOW_MS) figures.samples.shift();
      const [firstTime, firstDone] = figures.samples[0]!;
      const seconds = (now - firstTime) / 1000;
      const rowsPerSecond = seconds > 0 ? (figures.done - firstDone) / seconds : 0;
      const remaining = figures.total - figures.done;
      const etaSeconds = figures.finished || remaining <= 0 ? 0 : rowsPerSecond > 0 ? remaining / rowsPerSecond : undefined;
      return { channel, done: figures.done, total: figures.total, rowsPerSecond, etaSeconds, finished: figures.finished };
    });
  }

  private report(): void {
    const figures = this.figures();
    if (this.tty) {
      const lines = figures.map(
        (f) =>
          `channel ${f.channel}: ${f.done.toLocaleString('en-US')} / ${f.total.toLocaleString('en-US')} rows` +
          ` (${percent(f.done, f.total)})  ${Math.round(f.rowsPerSecond).toLocaleString('en-US')} rows/s  ` +
          (f.finished ? 'done' : `ETA ${formatDuration(f.etaSeconds)}`),
      );
      // Move up over the previous block and redraw it, so the figures stay in one place.
      const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}F` : '';
      this.tty.write(up + lines.map((line) => `\x1b[2K${line}`).join('\n') + '\n');
      this.drawnLines = lines.length;
      return;
    }
    const done = figures.reduce((sum, f) => sum + f.done, 0);
    const total = figures.reduce((sum, f) => sum + f.total, 0);
    this.logger.info(
      {
        job: this.job,
        rows: done,
        total,
        elapsedSeconds: Math.round((Date.now() - this.startedAt) / 1000),
        channels: figures.map((f) => ({ channel: f.channel, rows: f.done, total: f.total, rowsPerSecond: Math.round(f.rowsPerSecond), etaSeconds: f.etaSeconds === undefined ? null : Math.round(f.etaSeconds) })),
      },
      `sync ${this.job}: ${done} of ${total} rows (${percent(done, total)})`,
    );
  }
}

function percent(done: number, total: number): string {
  return total === 0 ? '100%' : `${Math.min(100, (100 * done) / total).toFixed(1)}%`;
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
