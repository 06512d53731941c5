// Progress of a batch job for the person waiting on it: rows done, rows/s and ETA per channel. On a
// terminal the figures redraw in place every second; otherwise they go to the log every few seconds
// (and, when metrics are on, to Prometheus gauges).
import type { Logger } from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import { etaSeconds, InPlaceLines, percent, progressLine, RateMeter } from '../core/progress-line.ts';

export { formatDuration } from '../core/progress-line.ts';

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
  meter: RateMeter;
}

export class SyncProgress {
  private readonly channels: ChannelFigures[];
  private timer: NodeJS.Timeout | undefined;
  private readonly lines: InPlaceLines | undefined;
  private readonly startedAt = Date.now();

  constructor(
    private readonly job: string,
    totals: number[],
    done: number[],
    private readonly logger: Logger,
    tty: NodeJS.WriteStream | undefined,
    private readonly metrics: SyncMetrics | undefined,
  ) {
    this.lines = tty ? new InPlaceLines(tty) : undefined;
    const now = Date.now();
    this.channels = totals.map((total, index) => ({ total: Math.max(total, done[index] ?? 0), done: done[index] ?? 0, finished: false, meter: new RateMeter(now, done[index] ?? 0) }));
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
    const every = this.lines ? 1000 : 10_000;
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
      const rowsPerSecond = figures.meter.rate(now, figures.done);
      const eta = etaSeconds(figures.done, figures.total, rowsPerSecond, figures.finished);
      return { channel, done: figures.done, total: figures.total, rowsPerSecond, etaSeconds: eta, finished: figures.finished };
    });
  }

  private report(): void {
    const figures = this.figures();
    if (this.lines) {
      this.lines.draw(figures.map((f) => progressLine(`channel ${f.channel}`, f)));
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
