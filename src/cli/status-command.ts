// `sluice status`: one screen for a daemon, from its /status endpoint. The state directory says
// whether one runs (its lock) and where it listens (runtime/status-endpoint.ts); when none runs, the
// screen is the last checkpoint and the exit status 3, "not running" as LSB init scripts and
// `systemctl status` have it, so a script can tell down from broken (1).
import type { DaemonConfig } from '../config/schema.ts';
import { CheckpointStore } from '../checkpoint/checkpoint-store.ts';
import { binlogHiveRecord } from '../pipeline/binlog-to-hive-record.ts';
import { kafkaHiveRecord } from '../pipeline/kafka-to-hive-record.ts';
import type { DaemonStatusReport, TableStatus } from '../runtime/daemon-status.ts';
import type { LockHolder } from '../core/state-store.ts';
import { openStateStore } from '../runtime/open-state-store.ts';
import { endpointUrl, readStatusEndpoint } from '../runtime/status-endpoint.ts';
import { showCheckpoint } from './checkpoint-command.ts';

export const EXIT_NOT_RUNNING = 3;

export interface StatusOutcome {
  text: string;
  exitCode: number;
}

export async function statusCommand(config: DaemonConfig, options: { json?: boolean }): Promise<StatusOutcome> {
  const dir = config.checkpoint.dir;
  const state = openStateStore(config);
  let holder: LockHolder | undefined;
  try {
    holder = await state.lockHolder();
    if (!holder) {
      if (options.json) {
        const stored = await new CheckpointStore(state).latest();
        return { text: JSON.stringify({ running: false, checkpoint: (stored && (config.source.kind === 'kafka' ? kafkaHiveRecord(stored) : binlogHiveRecord(stored))) ?? null }, null, 2) + '\n', exitCode: EXIT_NOT_RUNNING };
      }
      return { text: `sluice is not running (no daemon holds ${state.description}, ${state.configKey}); it resumes from:\n` + (await showCheckpoint(config, {})), exitCode: EXIT_NOT_RUNNING };
    }
  } finally {
    state.close?.();
  }
  const running = `running (pid ${holder.pid}${holder.host ? ` on host ${holder.host}` : ''})`;
  if (!config.metrics.enabled) {
    return { text: `sluice is ${running}, but metrics.enabled is false, so it serves no /status; set metrics.enabled: true and restart it\n`, exitCode: 1 };
  }
  const url = ((await readStatusEndpoint(dir)) ?? endpointUrl(config.metrics.host, config.metrics.port)) + '/status';
  let body: string;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    body = await response.text();
    if (!response.ok) throw new Error(`HTTP ${response.status}: ${body.trim()}`);
  } catch (error) {
    const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    return { text: `sluice is ${running}, but ${url} (metrics.host, metrics.port) did not answer: ${reason}\n`, exitCode: 1 };
  }
  if (options.json) return { text: body.endsWith('\n') ? body : body + '\n', exitCode: 0 };
  return { text: formatStatus(JSON.parse(body) as DaemonStatusReport, running), exitCode: 0 };
}

export function formatStatus(report: DaemonStatusReport, running: string): string {
  const line = (label: string, value: string): string => `  ${(label + ':').padEnd(17)}${value}\n`;
  const last = report.lastCheckpoint;
  let text = `sluice ${report.version}, ${running}, up ${duration(report.uptimeSeconds)}, ${report.ready ? 'ready' : `not ready: ${report.notReadyReason}`}\n`;
  if (report.ha) text += line('ha', report.ha.role === 'active' ? `active (epoch ${report.ha.epoch})` : 'standby: another daemon is active; this one takes over when its ZooKeeper session ends');
  text += line('source', report.source ? `${report.source.kind} ${report.source.version} at ${report.source.server}` : 'not connected yet');
  text += line('committed up to', report.position ?? '(nothing yet)');
  if (report.readPosition && report.readPosition !== report.position) text += line('read up to', report.readPosition);
  text += line('lag', `${report.lagSeconds} s`);
  text += line('changes/s', `${report.changesPerSecond} over the last minute (${report.changesRead} change(s) since the start)`);
  text += line('last checkpoint', last ? `#${last.id} at ${last.at}, ${duration(last.ageSeconds)} ago, took ${last.durationMs} ms` : 'none yet in this run');
  if (report.snapshot) {
    const { done, tables, rows, next } = report.snapshot;
    text += line('snapshot', `${done} of ${tables} table(s) done, ${rows} row(s) read${next ? `; reading ${next}` : ''}`);
  }
  text += line('compaction', describeCompaction(report.compaction));
  const errors = Object.entries(report.errors);
  text += line('errors', errors.length === 0 ? 'none' : errors.map(([code, count]) => `${code} ${count}`).join(', '));
  text += line('tables', report.tables.length === 0 ? 'none written yet' : `${report.tables.length}`);
  const width = Math.max(5, ...report.tables.map((table) => table.table.length));
  const rowsWidth = Math.max(4, ...report.tables.map((table) => String(table.rowsWritten).length));
  if (report.tables.length > 0) text += `    ${'TABLE'.padEnd(width)}  ${'ROWS'.padStart(rowsWidth)}  STATE\n`;
  for (const table of report.tables) {
    text += `    ${table.table.padEnd(width)}  ${String(table.rowsWritten).padStart(rowsWidth)}  ${describeTable(table)}\n`;
    // The reason on a line of its own, under the state: it is a sentence or three.
    if (table.stopped) text += `${' '.repeat(8 + width + rowsWidth)}${table.stopped.message}\n`;
  }
  return text;
}

function describeTable(table: TableStatus): string {
  if (table.stopped) {
    const { code, since, stoppedAt } = table.stopped;
    return `stopped ${code} at ${stoppedAt}, holds every change before ${since}`;
  }
  if (table.state === 'ahead') return `catching up: takes changes from sequence ${table.aheadFromSequence}`;
  return 'running';
}

function describeCompaction(compaction: DaemonStatusReport['compaction']): string {
  if (!compaction) return 'unknown (not streaming yet)';
  if (!compaction.enabled) return 'off';
  const state = compaction.running ? 'running' : compaction.due ? 'due' : 'idle';
  const last = compaction.lastRun;
  return last ? `${state}; last run at ${last.at}: ${last.partitions} partition(s), ${last.filesIn} file(s) into ${last.filesOut}, ${last.durationMs} ms` : `${state}; no run yet`;
}

function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} h ${minutes % 60} min` : `${Math.floor(hours / 24)} d ${hours % 24} h`;
}
