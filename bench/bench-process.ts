// The benchmarks' child processes and the few helpers their logs and tables share: every child is
// tracked so that a failed or interrupted run kills what it started, and `run` times a command and
// samples its peak RSS.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { REPO } from './binlog-settings.ts';
import { RssSampler } from './proc-stats.ts';

export const children = new Set<ChildProcess>();
export const log = (text: string): void => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}`);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const fmt = (value: number, digits = 0): string => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/**
 * Follows a child's stdout and stderr together: `onLine` sees each whole line as it comes, and the
 * function returned gives the last `keep` characters (for the message when the child fails).
 */
export function followOutput(child: ChildProcess, onLine: (line: string) => void, keep: number): () => string {
  let output = '';
  let partial = '';
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString();
    output = (output + text).slice(-keep);
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    lines.forEach(onLine);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return () => output;
}

export interface RunResult {
  code: number | null;
  seconds: number;
  stdout: string;
  stderr: string;
  /** With `sampleRss`: the largest VmRSS/VmHWM seen by 100 ms samples (a short run may end between two). */
  peakRssMiB?: number;
}

export function run(command: string, args: string[], options: { stdoutToNull?: boolean; env?: NodeJS.ProcessEnv; cwd?: string; sampleRss?: boolean } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const devNull = options.stdoutToNull ? openSync('/dev/null', 'w') : undefined;
    const started = performance.now();
    const child = track(
      spawn(command, args, { stdio: ['ignore', devNull ?? 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd ?? REPO }),
    );
    const sampler = options.sampleRss && child.pid !== undefined ? new RssSampler(child.pid) : undefined;
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.length > 100_000) stderr = stderr.slice(-50_000);
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const seconds = (performance.now() - started) / 1000;
      sampler?.stop();
      if (devNull !== undefined) closeSync(devNull);
      resolve({ code, seconds, stdout, stderr, ...(sampler ? { peakRssMiB: sampler.peakMiB } : {}) });
    });
  });
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row, index) => {
      const line = row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('   ');
      return index === 0 ? `${line}\n${'-'.repeat(line.length)}` : line;
    })
    .join('\n');
}

export interface Measure {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  peakRssMiB?: number;
}

export const measure = (rows: number, seconds: number): Measure => ({ rows, seconds: Math.round(seconds * 1000) / 1000, rowsPerSecond: Math.round(rows / seconds) });
