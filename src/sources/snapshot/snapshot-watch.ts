// What a person watching the snapshot sees, per table: rows done of the server's estimate, rows/s
// and an ETA. On a terminal (stderr) one line per table redrawn in place, like the batch copy's
// (core/progress-line.ts); otherwise a JSON log line every 10 s and when the table is done. Fed
// once per chunk handed on, never per change of the stream.
import type { Logger } from 'pino';
import type { SluiceMetrics } from '../../runtime/metrics.ts';
import { etaSeconds, InPlaceLines, progressLine, RateMeter } from '../../core/progress-line.ts';

/** How often a table's progress is logged while it is read (without a terminal). */
const LOG_EVERY_MS = 10_000;
/** How often the terminal line is redrawn at most. */
const DRAW_EVERY_MS = 1000;

interface TableWatch {
  meter: RateMeter;
  /** The server's estimate of the table's rows; undefined until known (or when the server has none). */
  estimate: number | undefined;
  estimateAsked: boolean;
  shownAt: number;
}

export interface SnapshotFigures {
  rows: number;
  /** The estimate, or the rows done when they passed it (the estimate was low). */
  estimatedRows: number | undefined;
  rowsPerSecond: number;
  /** Undefined while the rate is nil or the rows done have passed the estimate (no telling how many are left). */
  etaSeconds: number | undefined;
}

export class SnapshotWatch {
  private readonly tables = new Map<string, TableWatch>();
  private readonly lines: InPlaceLines | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly metrics: SluiceMetrics,
    tty?: NodeJS.WriteStream,
  ) {
    this.lines = tty ? new InPlaceLines(tty) : undefined;
  }

  /** Whether any table has started in this run. */
  get started(): boolean {
    return this.tables.size > 0;
  }

  has(table: string): boolean {
    return this.tables.has(table);
  }

  /** The table is read again from its start: its figures start over. */
  forget(table: string): void {
    this.tables.delete(table);
  }

  /** The table starts (or resumes) with `rows` handed on before. */
  begin(table: string, rows: number, now = Date.now()): void {
    this.tables.set(table, { meter: new RateMeter(now, rows), estimate: undefined, estimateAsked: false, shownAt: now });
  }

  /** True once per table and run: the caller then asks the server and calls estimated(). */
  wantsEstimate(table: string): boolean {
    const watch = this.tables.get(table);
    if (!watch || watch.estimateAsked) return false;
    watch.estimateAsked = true;
    return true;
  }

  estimated(table: string, estimate: number | undefined): void {
    const watch = this.tables.get(table);
    if (!watch) return;
    watch.estimate = estimate;
    if (estimate !== undefined) this.metrics.snapshotRowsEstimated.set({ source: table }, estimate);
  }

  /** Rows/s and the ETA as Prometheus gauges, at the same moments as the line or log shows them. */
  private gauges(table: string, f: SnapshotFigures, done: boolean): void {
    const source = { source: table };
    this.metrics.snapshotRowsPerSecond.set(source, done ? 0 : f.rowsPerSecond);
    // Unknown is no sample rather than a made-up number.
    if (f.etaSeconds === undefined) this.metrics.snapshotEtaSeconds.remove(source);
    else this.metrics.snapshotEtaSeconds.set(source, Math.round(f.etaSeconds));
  }

  /** The table's figures after a chunk, with `rows` handed on in all. */
  figures(table: string, rows: number, done: boolean, now = Date.now()): SnapshotFigures {
    const watch = this.tables.get(table)!;
    const rowsPerSecond = watch.meter.rate(now, rows);
    const estimatedRows = watch.estimate === undefined ? undefined : Math.max(watch.estimate, rows);
    const eta = estimatedRows === undefined || (!done && rows >= estimatedRows) ? undefined : etaSeconds(rows, estimatedRows, rowsPerSecond, done);
    return { rows, estimatedRows: done ? rows : estimatedRows, rowsPerSecond, etaSeconds: eta };
  }

  /** A chunk of the table is handed on: `rows` in all so far, `done` when it was the last. */
  chunk(table: string, rows: number, done: boolean, now = Date.now()): void {
    const watch = this.tables.get(table) ?? (this.begin(table, rows, now), this.tables.get(table)!);
    if (done) this.metrics.snapshotRowsEstimated.set({ source: table }, rows);
    const every = this.lines ? DRAW_EVERY_MS : LOG_EVERY_MS;
    if (!done && now - watch.shownAt < every) return;
    watch.shownAt = now;
    const f = this.figures(table, rows, done, now);
    this.gauges(table, f, done);
    if (this.lines) {
      this.lines.draw([progressLine(`snapshot ${table}`, { done: rows, total: f.estimatedRows ?? rows, rowsPerSecond: f.rowsPerSecond, etaSeconds: f.etaSeconds, finished: done }, done ? '' : '~')]);
      if (!done) return;
      this.lines.leave();
    }
    const fields = {
      table,
      rows,
      rowsPerSecond: Math.round(f.rowsPerSecond),
      estimatedRows: f.estimatedRows ?? null,
      etaSeconds: f.etaSeconds === undefined ? null : Math.round(f.etaSeconds),
      done,
    };
    this.logger.info(fields, done ? `snapshot of ${table} done: ${rows} rows` : `snapshot of ${table}: ${rows} of about ${f.estimatedRows ?? '?'} rows so far`);
  }
}
