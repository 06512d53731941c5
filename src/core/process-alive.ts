/**
 * Whether a process with this pid exists. EPERM means it exists but belongs to another user, which
 * still counts: a pid file or lock held by it is not stale.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
