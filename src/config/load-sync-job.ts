// Reads a batch job file (`sluice sync --job FILE`) into a validated SyncJob, with the same
// file:line:column errors and ${env:...}/${file:...} secrets as the daemon's config.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseYamlWith, resolveCheckpointPaths, resolveTlsPaths, unreadable } from './load.ts';
import type { Env } from './secrets.ts';
import { syncJobSchema, type SyncJob } from './sync-job-schema.ts';

export async function loadSyncJob(path: string, env: Env = process.env): Promise<SyncJob> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw unreadable('job file', path, error, 'job.yaml');
  }
  return parseSyncJob(text, path, env);
}

export function parseSyncJob(text: string, file: string, env: Env = process.env): SyncJob {
  const job = parseYamlWith(syncJobSchema, text, file, env);
  // Local paths are relative to the job file, so the job runs the same from any directory.
  const baseDir = dirname(resolve(file));
  const writer = job.writer;
  return {
    ...job,
    source: { ...job.source, tls: resolveTlsPaths(job.source.tls, baseDir, file, 'source') },
    checkpoint: resolveCheckpointPaths(job.checkpoint, baseDir),
    writer:
      writer.kind === 'local'
        ? { ...writer, path: resolve(baseDir, writer.path) }
        : writer.kind === 'hdfs' && writer.spoolDir !== undefined
          ? { ...writer, spoolDir: resolve(baseDir, writer.spoolDir) }
          : writer.kind === 'mysql'
            ? { ...writer, tls: resolveTlsPaths(writer.tls, baseDir, file, 'writer') }
            : writer,
  };
}

/** Safe to log: passwords and tokens are '***'. */
export function redactSyncJob(job: SyncJob): SyncJob {
  const copy = structuredClone(job);
  copy.source.password = '***';
  if ('password' in copy.writer) copy.writer.password = '***';
  if (copy.writer.kind === 'hdfs' && copy.writer.delegationToken !== undefined) copy.writer.delegationToken = '***';
  return copy;
}
