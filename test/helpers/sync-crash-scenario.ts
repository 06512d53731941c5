// The batch copy's crash scenario: run a job, SIGKILL it at random moments (at a random checkpoint,
// at a random instant after it), start it again each time, let the last run finish, and compare the
// target with the source row by row. Used by test/sync-crash.test.ts and by the longer soak.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { SyncJobInput } from '../../src/config/sync-job-schema.ts';
import { prng } from './change-generator.ts';
import { writeJobFile } from './sync-fixture.ts';
import { REPO_ROOT } from './servers.ts';

export interface CrashRun {
  /** Kills that hit a running copy (the process was alive and had not finished). */
  kills: number;
  /** Runs in all, the last one to completion. */
  runs: number;
  /** Checkpoints each killed run had committed before the kill. */
  checkpointsBeforeKill: number[];
}

interface RunOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  checkpoints: number;
  stderr: string;
}

const RUN_LIMIT_MS = 180_000;

/** One `sluice sync` process; when `killAfter` is set, SIGKILL after that many checkpoints plus `delayMs`. */
function runOnce(jobFile: string, killAfter: { checkpoints: number; delayMs: number } | undefined, again = false): Promise<RunOutcome> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'sync', '--job', jobFile, ...(again ? ['--again'] : [])], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let checkpoints = 0;
  let stderr = '';
  let buffered = '';
  let armed = false;
  const arm = (): void => {
    if (armed || !killAfter) return;
    armed = true;
    setTimeout(() => child.kill('SIGKILL'), killAfter.delayMs);
  };
  if (killAfter?.checkpoints === 0) arm();
  child.stderr.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    stderr += text;
    buffered += text;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line.includes('"sync checkpoint committed"')) {
        checkpoints++;
        if (killAfter && checkpoints >= killAfter.checkpoints) arm();
      }
    }
  });
  // A copy here takes seconds: one that runs for minutes hangs, and the test says so with its log
  // instead of waiting for the suite's own time limit.
  let hung = false;
  const watchdog = setTimeout(() => {
    hung = true;
    child.kill('SIGKILL');
  }, RUN_LIMIT_MS);
  return new Promise((resolve, reject) =>
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog);
      if (hung) reject(new Error(`sluice sync --job ${jobFile} ran for ${RUN_LIMIT_MS / 1000} s without ending (killed); its log ends:\n${stderr.slice(-4000)}`));
      else resolve({ code, signal, checkpoints, stderr: stderr.slice(-4000) });
    }),
  );
}

export async function runWithKills(options: { dir: string; job: SyncJobInput; kills: number; seed: number; maxCheckpointsBeforeKill: number; maxDelayMs: number }): Promise<CrashRun> {
  // debug: the runner counts 'sync checkpoint committed' lines to kill at a chosen checkpoint.
  const jobFile = writeJobFile(options.dir, { ...options.job, log: { level: 'debug' } });
  const random = prng(options.seed);
  const result: CrashRun = { kills: 0, runs: 0, checkpointsBeforeKill: [] };
  let attempts = 0;
  let finishedBefore = false;
  // On a loaded machine checkpoints take longer and a copy has fewer of them; each copy that
  // finishes before its kill halves how late the next kills may come, so they keep landing.
  let maxCheckpoints = options.maxCheckpointsBeforeKill;
  const history: string[] = [];
  let maxDelayMs = options.maxDelayMs;
  while (result.kills < options.kills) {
    if (++attempts > options.kills * 4) {
      throw new Error(`only ${result.kills} of ${options.kills} kills hit a running copy in ${attempts - 1} runs: the copy is too short for this scenario. Runs: ${history.join('; ')}`);
    }
    // Every other kill waits for at least one checkpoint, so resumes (not only fresh starts) are hit.
    const least = result.kills % 2 === 0 ? 1 : 0;
    const killAfter = { checkpoints: least + Math.floor(random() * (Math.max(least, maxCheckpoints) + 1 - least)), delayMs: Math.floor(random() * maxDelayMs) };
    // A copy that finished before its kill is final; the next kill needs a new copy to hit.
    const outcome = await runOnce(jobFile, killAfter, finishedBefore);
    result.runs++;
    history.push(`kill after ${killAfter.checkpoints} checkpoints + ${killAfter.delayMs} ms${finishedBefore ? ' (--again)' : ''}: ${outcome.signal ?? `exit ${outcome.code}`} after ${outcome.checkpoints} checkpoints`);
    finishedBefore = outcome.code === 0;
    if (finishedBefore) {
      maxCheckpoints = Math.floor(maxCheckpoints / 2);
      maxDelayMs = Math.floor(maxDelayMs / 2);
    }
    if (outcome.signal === 'SIGKILL') {
      result.kills++;
      result.checkpointsBeforeKill.push(outcome.checkpoints);
    } else if (outcome.code !== 0) {
      throw new Error(`sluice sync exited with ${outcome.code} before the kill:\n${outcome.stderr}`);
    }
  }
  const last = await runOnce(jobFile, undefined);
  result.runs++;
  if (last.code !== 0) throw new Error(`the final sluice sync exited with ${last.code}:\n${last.stderr}`);
  return result;
}
