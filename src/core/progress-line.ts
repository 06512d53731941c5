// The figures a person watching a long copy wants (rows done of a total, rows/s, ETA) and how a
// terminal shows them: one line per item, redrawn in place. Shared by the batch copy's progress
// (sync/sync-progress.ts) and the daemon's snapshot (sources/snapshot/snapshot-merge.ts).

/** The rate over the last RATE_WINDOW_MS of samples, so that an early burst does not skew the ETA for ever. */
const RATE_WINDOW_MS = 10_000;

export class RateMeter {
  /** (time ms, rows done) samples over the last window. */
  private readonly samples: [number, number][];

  constructor(now: number, done: number) {
    this.samples = [[now, done]];
  }

  /** Adds a sample and returns the rows per second since the oldest one still in the window. */
  rate(now: number, done: number): number {
    this.samples.push([now, done]);
    while (this.samples.length > 2 && now - this.samples[0]![0] > RATE_WINDOW_MS) this.samples.shift();
    const [firstTime, firstDone] = this.samples[0]!;
    const seconds = (now - firstTime) / 1000;
    return seconds > 0 ? (done - firstDone) / seconds : 0;
  }
}

/** Seconds to go at this rate: 0 when finished or nothing remains, undefined while nothing moves. */
export function etaSeconds(done: number, total: number, rowsPerSecond: number, finished: boolean): number | undefined {
  const remaining = total - done;
  if (finished || remaining <= 0) return 0;
  return rowsPerSecond > 0 ? remaining / rowsPerSecond : undefined;
}

export interface LineFigures {
  done: number;
  total: number;
  rowsPerSecond: number;
  etaSeconds: number | undefined;
  finished: boolean;
}

/** `label: 1,234,567 / 2,000,000 rows (61.7%)  5,000 rows/s  ETA 2m33s` (or `done`). */
export function progressLine(label: string, f: LineFigures, totalNote = ''): string {
  return (
    `${label}: ${f.done.toLocaleString('en-US')} / ${totalNote}${f.total.toLocaleString('en-US')} rows` +
    ` (${percent(f.done, f.total)})  ${Math.round(f.rowsPerSecond).toLocaleString('en-US')} rows/s  ` +
    (f.finished ? 'done' : `ETA ${formatDuration(f.etaSeconds)}`)
  );
}

/** Lines that stay in one place on a terminal: each draw moves up over the previous block and redraws it. */
export class InPlaceLines {
  private drawn = 0;

  constructor(private readonly tty: NodeJS.WriteStream) {}

  draw(lines: readonly string[]): void {
    const up = this.drawn > 0 ? `\x1b[${this.drawn}F` : '';
    this.tty.write(up + lines.map((line) => `\x1b[2K${line}`).join('\n') + '\n');
    this.drawn = lines.length;
  }

  /** The block stays as it is; the next draw starts below it. */
  leave(): void {
    this.drawn = 0;
  }
}

export function percent(done: number, total: number): string {
  return total === 0 ? '100%' : `${Math.min(100, (100 * done) / total).toFixed(1)}%`;
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
