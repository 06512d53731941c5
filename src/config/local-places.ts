// The local directories a configuration makes sluice write in, each with the config key that names it
// (what local-disk.ts puts in a disk error so that a person knows which setting to change).
import { resolve } from 'node:path';
import { defaultSpoolDir, type LocalPlace } from '../core/local-disk.ts';
import type { SluiceConfig } from './schema.ts';
import type { SyncJob } from './sync-job-schema.ts';

/** Every local directory the daemon writes in, for a config whose paths are resolved (loadConfig does that). */
export function localPlaces(config: Pick<SluiceConfig, 'sink' | 'checkpoint'>): LocalPlace[] {
  const places: LocalPlace[] = [{ configKey: 'checkpoint.dir', dir: config.checkpoint.dir }];
  const filesystem = config.sink.filesystem;
  if (filesystem.kind === 'local') places.push({ configKey: 'sink.filesystem.root', dir: filesystem.root });
  else places.push({ configKey: 'sink.filesystem.spoolDir', dir: filesystem.spoolDir ?? defaultSpoolDir() });
  if (config.sink.catalog.kind === 'local') places.push({ configKey: 'sink.catalog.dir', dir: config.sink.catalog.dir });
  return places.map((place) => ({ ...place, dir: resolve(place.dir) }));
}

/** Every local directory a batch copy writes in: its state, and a local writer's target or an HDFS writer's spool. */
export function syncPlaces(job: SyncJob): LocalPlace[] {
  const places: LocalPlace[] = [{ configKey: 'checkpoint.dir', dir: job.checkpoint.dir }];
  const writer = job.writer;
  if (writer.kind === 'local') places.push({ configKey: 'writer.path', dir: writer.path });
  if (writer.kind === 'hdfs') places.push({ configKey: 'writer.spoolDir', dir: writer.spoolDir ?? defaultSpoolDir() });
  return places.map((place) => ({ ...place, dir: resolve(place.dir) }));
}
