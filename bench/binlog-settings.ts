// The binlog benchmarks' shared settings, read from the environment once: where they work under
// .sluice/, how many rows the workload writes, and how the daemon and the measures run. bench:binlog
// and bench:peers read the same variables, so one BENCH_ROWS sizes both alike.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const SLUICE_DIR = join(REPO, '.sluice');
export const WORK_DIR = join(SLUICE_DIR, 'bench-work');
export const PROFILE_DIR = join(SLUICE_DIR, 'bench-prof');

function rowsSetting(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1000) throw new Error(`${name} must be an integer >= 1000, not ${text}`);
  return value;
}
const SCALE = rowsSetting('BENCH_ROWS');
export const SMALL_ROWS = Math.floor((rowsSetting('BENCH_SMALL_ROWS') ?? SCALE ?? 500_000) / 1000) * 1000;
export const LARGE_ROWS = rowsSetting('BENCH_LARGE_ROWS') ?? SCALE ?? 1_000_000;
export const CHECKPOINT_SECONDS = Number(process.env.BENCH_CHECKPOINT_SECONDS ?? 2);
export const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
export const REFERENCE_COUNT = process.env.BENCH_REFERENCE_COUNT !== '0';
export const KEEP = process.env.BENCH_KEEP === '1';
/** Extra node flags for the daemon in (c) and (d), e.g. '--max-old-space-size=96' to see how much of its RSS is GC headroom. */
export const DAEMON_NODE_ARGS = (process.env.BENCH_DAEMON_NODE_ARGS ?? '').split(/\s+/).filter((arg) => arg !== '');
/** Run the daemon from JavaScript compiled by tsc (as the Docker image and systemd unit do) instead of through tsx. */
export const COMPILED = process.env.BENCH_COMPILED !== '0';
/** The node binary that runs (b), the daemon in (c)-(g); this process's own unless BENCH_NODE names another (e.g. the Node 24 production runs). */
export const DAEMON_NODE = process.env.BENCH_NODE || process.execPath;
export const DAEMON_NODE_VERSION = DAEMON_NODE === process.execPath ? process.version : execFileSync(DAEMON_NODE, ['--version'], { encoding: 'utf8' }).trim();
export const COMPILED_DIR = join(SLUICE_DIR, 'bench-dist');
