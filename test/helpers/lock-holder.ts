// Another process that holds a state directory's lock, the way a running daemon does.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './servers.ts';

/** Resolves once the child holds the lock on `dir`; it keeps it until killed. */
export async function holdLockInChild(dir: string): Promise<ChildProcess> {
  return holdInChild(`import { acquireStateLock } from ${JSON.stringify(join(REPO_ROOT, 'src/runtime/state-lock.ts'))};
await acquireStateLock(${JSON.stringify(dir)});`);
}

/** Runs `takeLock` (an ES module's statements) in a child process; resolves once it has run. The child keeps what it took until killed. */
export async function holdInChild(takeLock: string): Promise<ChildProcess> {
  const script = `${takeLock}
process.stdout.write('locked\\n');
setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('locked') && resolve());
    child.on('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
  });
  return child;
}
