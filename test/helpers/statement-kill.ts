// The crash scenario's kill aimed at a checkpoint right after a statement that is a transaction of
// its own (TRUNCATE, DROP TABLE + CREATE TABLE, ALTER TABLE): the generator writes one on request
// and then waits, so the daemon's next checkpoint lands exactly at its end, and the daemon is killed
// once that checkpoint is recorded. A restart must not read the statement again (a TRUNCATE read
// twice is two markers). Random kills would rarely land there: such a statement is a few percent of
// the transactions, and the next transaction moves the checkpoint past it.
import assert from 'node:assert/strict';
import { latestCheckpoint, type DaemonWorkspace, type RunningDaemon } from './daemon.ts';
import type { BinlogHead } from './source-server.ts';

interface Request {
  step: () => Promise<unknown>;
  written: (head: BinlogHead) => void;
  resume: Promise<void>;
}

export class StatementPause {
  private request: Request | undefined;

  constructor(private readonly binlogHead: () => Promise<BinlogHead>) {}

  /** For the generation loop, before each step: runs the step asked for and waits for the kill; false when none was asked. */
  async serve(): Promise<boolean> {
    const request = this.request;
    if (!request) return false;
    this.request = undefined;
    await request.step();
    request.written(await this.binlogHead());
    await request.resume;
    return true;
  }

  /** Asks for `step` as the generator's next; `written` resolves to the binlog's end after it, and the generator waits for `release`. */
  ask(step: () => Promise<unknown>): { written: Promise<BinlogHead>; release: () => void } {
    let release!: () => void;
    const resume = new Promise<void>((resolve) => (release = resolve));
    const written = new Promise<BinlogHead>((resolve) => (this.request = { step, written: resolve, resume }));
    return { written, release };
  }
}

/** Waits until a checkpoint is recorded at `head` (or past it), then kills the daemon. */
export async function killAtCheckpointReaching(workspace: DaemonWorkspace, daemon: RunningDaemon, head: BinlogHead, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const position = (await latestCheckpoint(workspace))?.source.position;
    if (position && (position.file > head.file || (position.file === head.file && position.offset >= head.offset))) break;
    if (daemon.child.exitCode !== null || daemon.child.signalCode !== null || Date.now() > deadline) {
      assert.fail(`no checkpoint reached ${head.file}:${head.offset}, the end of a statement of its own (newest: ${JSON.stringify(position)}):\n${daemon.output().slice(-3000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  daemon.child.kill('SIGKILL');
}
