// The local catalog is written by several processes when several Kafka loaders share one embedded
// warehouse (docs/kafka.md): each change of a table document reads it and writes it whole, so two at
// once would lose one (a partition one loader added, gone under the other's copy). Changes take this
// lock: a file made with O_EXCL that names its holder's pid; a holder that died (kill -9) leaves a file
// whose pid is gone, which the next taker removes. Held for one read and one atomic write.
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isProcessAlive } from '../core/process-alive.ts';

const LOCK_FILE = '.catalog.lock';

export async function withCatalogLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const file = join(dir, LOCK_FILE);
  await mkdir(dir, { recursive: true });
  for (let waits = 0; ; waits++) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const seen = await readFile(file, 'utf8').catch(() => '');
    const holder = Number(seen.trim());
    // An empty file is one being written this instant; after many waits, its writer died in between.
    const stale = (holder > 0 && !isProcessAlive(holder)) || (!holder && waits > 200);
    // Read again just before: another taker may have replaced the stale lock with its own meanwhile.
    if (stale && (await readFile(file, 'utf8').catch(() => undefined)) === seen) await unlink(file).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 10));
  }
  try {
    return await work();
  } finally {
    await unlink(file).catch(() => undefined);
  }
}
