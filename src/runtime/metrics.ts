// The figures an operator watches, as Prometheus metrics. One registry per daemon (not the global
// one), so tests and several jobs in one process never mix their numbers.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * A count bumped once per row, kept in a plain number and added to its Prometheus counter each time the
 * counter is read (its `collect`, which /metrics and every `get()` run first): exact whenever it is
 * looked at, without prom-client's per-call label and value checks on the hot path.
 */
export class Tally {
  private pending = 0;
  /** Touched since the last flush: an `add(0)` still makes the series appear, as `inc(0)` did. */
  private touched = false;

  constructor(private readonly counter: { inc(value: number): void }) {}

  add(value = 1): void {
    this.pending += value;
    this.touched = true;
  }

  flush(): void {
    if (!this.touched) return;
    const value = this.pending;
    this.pending = 0;
    this.touched = false;
    this.counter.inc(value);
  }
}

export class SluiceMetrics {
  readonly registry = new Registry();
  /** The tallies of each counter, by their labels: one per series, however often asked for. */
  private readonly tallies = new Map<Counter<string>, Map<string, Tally>>();
  readonly changesRead: Counter<string> = new Counter({
    name: 'sluice_changes_read_total',
    help: 'Row changes read from the binlog and routed to a target table.',
    registers: [this.registry],
    collect: () => this.flushTallies(this.changesRead),
  });
  readonly rowsWritten: Counter<'table'> = new Counter({
    name: 'sluice_rows_written_total',
    help: 'Rows written to staging, per target table (visible once their checkpoint commits).',
    labelNames: ['table'] as const,
    registers: [this.registry],
    collect: () => this.flushTallies(this.rowsWritten),
  });
  readonly bytesWritten: Counter<'table'> = new Counter({
    name: 'sluice_bytes_written_total',
    help: 'Bytes written to staging files, per target table.',
    labelNames: ['table'] as const,
    registers: [this.registry],
    collect: () => this.flushTallies(this.bytesWritten),
  });
  readonly snapshotRows = new Counter({
    name: 'sluice_snapshot_rows_total',
    help: 'Rows the snapshot read and handed on (op read), per source table.',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly snapshotRowsEstimated = new Gauge({
    name: 'sluice_snapshot_rows_estimated',
    help: "Rows the snapshot expects to read per source table: the server's estimate (information_schema TABLE_ROWS) when the table's snapshot starts, the rows read once it is done.",
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly snapshotRowsPerSecond = new Gauge({
    name: 'sluice_snapshot_rows_per_second',
    help: 'Rows per second the snapshot reads per source table, over the last 10 s, as its progress line shows (updated each second on a terminal, else every 10 s); 0 once done.',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly snapshotEtaSeconds = new Gauge({
    name: 'sluice_snapshot_eta_seconds',
    help: "Seconds the snapshot of a source table is expected to take still, from the server's estimate and the rate (no sample while unknown: no rate yet, or past a low estimate); 0 once done.",
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly unmatchedChanges = new Counter({
    name: 'sluice_unmatched_changes_total',
    help: 'Row changes of captured tables that no routing rule matched, per source table.',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly kafkaDeadLetters = new Counter({
    name: 'sluice_kafka_dead_letters_total',
    help: 'Kafka messages written to the dead letters (not JSON, or lacking what their format needs), per topic.',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });
  readonly checkpoints = new Counter({
    name: 'sluice_checkpoints_total',
    help: 'Checkpoints committed.',
    registers: [this.registry],
  });
  readonly checkpointDuration = new Histogram({
    name: 'sluice_checkpoint_duration_seconds',
    help: 'Time from pre-commit to the end of commit.',
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  readonly lastCheckpointTime = new Gauge({
    name: 'sluice_last_checkpoint_timestamp_seconds',
    help: 'When the last checkpoint committed (Unix seconds).',
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'sluice_errors_total',
    help: 'Errors by code (SLUICE_BINLOG_STREAM, SLUICE_MYSQL_UNREACHABLE, ...).',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly stoppedTables = new Gauge({
    name: 'sluice_stopped_tables',
    help: 'Target tables stopped by a change they cannot follow (sink.onTableError: table); each waits for a fix and a restart.',
    registers: [this.registry],
  });
  readonly queuedItems = new Gauge({
    name: 'sluice_queued_items',
    help: 'Items waiting between the binlog reader and the sinks; at runtime.maxQueuedEvents the reader pauses.',
    registers: [this.registry],
  });
  /** Set by the job: how far behind the source the committed tables are. */
  lagSeconds: () => number = () => 0;
  readonly haTakeovers = new Counter({
    name: 'sluice_ha_takeovers_total',
    help: 'Times this daemon became the active one after standing by (ha.zookeeper)',
    registers: [this.registry],
  });
  readonly haActive = new Gauge({
    name: 'sluice_ha_active',
    help: 'With ha.zookeeper: 1 while this daemon is the active one, 0 while it stands by',
    registers: [this.registry],
  });
  readonly replicationLag = new Gauge({
    name: 'sluice_replication_lag_seconds',
    help: 'Now minus the binlog time of the last committed change; 0 when everything read is committed and the stream is idle.',
    registers: [this.registry],
    collect: () => {
      this.replicationLag.set(this.lagSeconds());
    },
  });

  /**
   * The hot-path tally of one series of a counter made with `collect: () => this.flushTallies(...)`
   * (changesRead, rowsWritten, bytesWritten).
   */
  tally(counter: Counter<string>, labels?: Record<string, string>): Tally {
    let series = this.tallies.get(counter);
    if (!series) {
      series = new Map();
      this.tallies.set(counter, series);
    }
    const key = labels ? JSON.stringify(labels) : '';
    let tally = series.get(key);
    if (!tally) {
      tally = new Tally(labels ? counter.labels(labels) : counter);
      series.set(key, tally);
    }
    return tally;
  }

  private flushTallies(counter: Counter<string>): void {
    for (const tally of this.tallies.get(counter)?.values() ?? []) tally.flush();
  }

  /**
   * prom-client's process and Node figures (process_resident_memory_bytes, process_start_time_seconds,
   * nodejs_eventloop_lag_seconds, GC, heap, ...) on this registry. Only the daemon calls it, once per
   * process: each call starts its own event-loop and GC observers, which in-process test jobs need not.
   */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry });
  }
}
