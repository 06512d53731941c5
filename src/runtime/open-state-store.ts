// The state store a configuration names (checkpoint.store): the local directory checkpoint.dir by
// default, or an HDFS directory (checkpoint.hdfs.dir) reached through the same WebHDFS client as the
// warehouse, with the warehouse's NameNodes, user and token unless checkpoint.hdfs gives its own.
import type { Logger } from 'pino';
import type { SluiceConfig } from '../config/schema.ts';
import { createLogger } from '../core/logger.ts';
import type { StateStore } from '../core/state-store.ts';
import { WebHdfsFileSystem } from '../filesystem/webhdfs-filesystem.ts';
import { HdfsStateStore } from './hdfs-state-store.ts';
import { LocalStateStore } from './local-state-store.ts';

/** `retry`: `sluice check` makes one attempt per NameNode and reports what it finds now. */
export function openStateStore(config: SluiceConfig, logger?: Logger, options: { retry?: { maxAttempts: number }; requestTimeoutMs?: number } = {}): StateStore {
  const hdfs = config.checkpoint.hdfs;
  if (config.checkpoint.store === 'local' || !hdfs) return new LocalStateStore(config.checkpoint.dir);
  const sinkFs = config.sink.filesystem.kind === 'webhdfs' ? config.sink.filesystem : undefined;
  const delegationToken = hdfs.delegationToken ?? (hdfs.namenodes ? undefined : sinkFs?.delegationToken);
  const spoolDir = hdfs.spoolDir ?? sinkFs?.spoolDir;
  const requestTimeoutMs = hdfs.requestTimeoutMs ?? sinkFs?.requestTimeoutMs ?? 60_000;
  const fs = new WebHdfsFileSystem({
    // The schema makes sure one of the two is there.
    namenodes: hdfs.namenodes ?? sinkFs!.namenodes,
    user: hdfs.user ?? sinkFs?.user ?? 'sluice',
    requestTimeoutMs: Math.min(requestTimeoutMs, options.requestTimeoutMs ?? Infinity),
    logger: logger ?? createLogger(config.log.level, 2, config.log.format),
    ...(delegationToken !== undefined ? { delegationToken } : {}),
    ...(spoolDir !== undefined ? { spoolDir } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
  });
  return new HdfsStateStore({ fs, dir: hdfs.dir });
}
