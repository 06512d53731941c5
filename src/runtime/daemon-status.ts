// What `/status` answers and `sluice status` shows: one JSON model of a running daemon. It is put
// together from what the job knows now (its StatusProbe) and the values of the metrics' own counters
// (not their Prometheus text), so the screen and the dashboards never disagree.
import type { SluiceMetrics } from './metrics.ts';

export interface StoppedTableStatus {
  code: string;
  message: string;
  /** The position the table holds every change before, as people read it. */
  since: string;
  stoppedAt: string;
}

/** What the job knows of itself at this moment; positions already described for people. */
export interface LiveStatus {
  /** For Kafka, `server` is the brokers and `version` the client's. */
  source: { kind: 'mariadb' | 'mysql' | 'kafka'; server: string; version: string };
  /** The position of the last checkpoint: what the tables hold for sure. */
  position: string | undefined;
  /** The last transaction boundary read. */
  readPosition: string | undefined;
  lastCheckpoint: { id: number; at: string; durationMs: number } | undefined;
  stopped: Record<string, StoppedTableStatus>;
  /** Tables that skip changes they already hold while a restart re-reads for stopped ones: from which sequence number (ALL_OTHERS for the rest). */
  ahead: Record<string, string>;
  snapshot: { tables: number; done: number; rows: number; next: string | undefined } | undefined;
  compaction: { enabled: boolean; due: boolean; running: boolean; lastRun: { at: string; partitions: number; filesIn: number; filesOut: number; durationMs: number } | undefined };
}

export interface StatusProbe {
  /** Undefined until the job has connected and resolved its start. */
  liveStatus(): LiveStatus | undefined;
  notReadyReason(): string | undefined;
}

export interface TableStatus {
  table: string;
  rowsWritten: number;
  state: 'running' | 'stopped' | 'ahead';
  stopped?: StoppedTableStatus;
  aheadFromSequence?: string;
}

export interface DaemonStatusReport {
  version: string;
  pid: number;
  startedAt: string;
  uptimeSeconds: number;
  ready: boolean;
  notReadyReason: string | undefined;
  source: LiveStatus['source'] | undefined;
  position: string | undefined;
  readPosition: string | undefined;
  lagSeconds: number;
  /** Over the last minute (over the uptime when shorter). */
  changesPerSecond: number;
  changesRead: number;
  lastCheckpoint: { id: number; at: string; ageSeconds: number; durationMs: number } | undefined;
  tables: TableStatus[];
  snapshot: LiveStatus['snapshot'];
  compaction: LiveStatus['compaction'] | undefined;
  errors: Record<string, number>;
  /** With ha.zookeeper: whether this daemon is the active one, and its epoch once it is. */
  ha?: HaRole;
}

export interface HaRole {
  role: 'active' | 'standby';
  epoch?: number;
}

/** The key in LiveStatus.ahead for every table not named there. */
export const ALL_OTHERS = '*';

const RATE_WINDOW_MS = 60_000;
const SAMPLE_EVERY_MS = 5_000;

export class DaemonStatus {
  private readonly startedMs = Date.now();
  /** (time, changes read so far), oldest first, spanning a little over the rate window. */
  private readonly samples: Array<[number, number]> = [[this.startedMs, 0]];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly metrics: SluiceMetrics,
    private readonly version: string,
    private readonly ha?: () => HaRole,
  ) {
    this.timer = setInterval(() => void this.sample(), SAMPLE_EVERY_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async report(probe: StatusProbe | undefined): Promise<DaemonStatusReport> {
    const now = Date.now();
    const changesRead = await this.sample();
    const live = probe?.liveStatus();
    const reason = probe ? probe.notReadyReason() : 'starting';
    const rows = await labelled(this.metrics.rowsWritten, 'table');
    const stopped = live?.stopped ?? {};
    const ahead = live?.ahead ?? {};
    const names = [...new Set([...Object.keys(rows), ...Object.keys(stopped), ...Object.keys(ahead)])].filter((name) => name !== ALL_OTHERS).sort();
    const tables = names.map((table): TableStatus => {
      const from = ahead[table] ?? ahead[ALL_OTHERS];
      const entry: TableStatus = { table, rowsWritten: rows[table] ?? 0, state: stopped[table] ? 'stopped' : from ? 'ahead' : 'running' };
      if (stopped[table]) entry.stopped = stopped[table];
      else if (from) entry.aheadFromSequence = from;
      return entry;
    });
    const last = live?.lastCheckpoint;
    return {
      version: this.version,
      pid: process.pid,
      startedAt: new Date(this.startedMs).toISOString(),
      uptimeSeconds: Math.round((now - this.startedMs) / 1000),
      ready: reason === undefined,
      notReadyReason: reason,
      source: live?.source,
      position: live?.position,
      readPosition: live?.readPosition,
      lagSeconds: Math.round(this.metrics.lagSeconds()),
      changesPerSecond: this.rate(now, changesRead),
      changesRead,
      lastCheckpoint: last && { ...last, ageSeconds: Math.max(0, Math.round((now - Date.parse(last.at)) / 1000)) },
      tables,
      snapshot: live?.snapshot,
      compaction: live?.compaction,
      errors: await labelled(this.metrics.errors, 'code'),
      ...(this.ha ? { ha: this.ha() } : {}),
    };
  }

  private async sample(): Promise<number> {
    const total = (await this.metrics.changesRead.get()).values[0]?.value ?? 0;
    const now = Date.now();
    this.samples.push([now, total]);
    // Keep the newest sample at least a window old, so the rate always spans a full minute once up that long.
    while (this.samples.length > 2 && this.samples[1]![0] <= now - RATE_WINDOW_MS) this.samples.shift();
    return total;
  }

  private rate(now: number, total: number): number {
    const [since, from] = this.samples[0]!;
    const seconds = (now - since) / 1000;
    return seconds > 0 ? Math.round(((total - from) / seconds) * 10) / 10 : 0;
  }
}

/** A counter's values by one label, as a plain object. */
async function labelled(metric: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, string | number | undefined> }> }> }, label: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const { value, labels } of (await metric.get()).values) {
    const key = labels[label];
    if (key !== undefined) out[String(key)] = (out[String(key)] ?? 0) + value;
  }
  return out;
}
