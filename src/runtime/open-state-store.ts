// The state store a configuration names (checkpoint.store): the local directory checkpoint.dir by
// default, or an HDFS directory (checkpoint.hdfs.dir) reached through the same WebHDFS client as the
// data, with the data's NameNodes, user and token unless checkpoint.hdfs gives its own.
import type { Logger } from 'pino';
import type { SluiceConfig } from '../config/schema.ts';
import type { SyncJob } from '../config/sync-job-schema.ts';
import { createLogger } from '../core/logger.ts';
import type { StateStore } from '../core/state-store.ts';
import { WebHdfsFileSystem } from '../filesystem/webhdfs-filesystem.ts';
import { HdfsStateStore } from './hdfs-state-store.ts';
import { LocalStateStore } from './local-state-store.ts';

type CheckpointSettings = SluiceConfig['checkpoint'] | SyncJob['checkpoint'];

/** The WebHDFS connection of the data (sink.filesystem, or a batch job's hdfs writer), whose keys checkpoint.hdfs defaults to. */
interface DataOnHdfs {
  namenodes: readonly string[];
  user: string;
  delegationToken?: string | undefined;
  spoolDir?: string | undefined;
  requestTimeoutMs: number;
}

export interface OpenStateOptions {
  /** `sluice check` makes one attempt per NameNode and reports what it finds now. */
  retry?: { maxAttempts: number };
  requestTimeoutMs?: number;
  /** ha.zookeeper: the leader's epoch check before every rename into place, and the lock taken over from whoever held it (ZooKeeper chose this daemon). */
  leader?: { check(): Promise<void>; readonly epoch: number };
}

/** The daemon's state store. */
export function openStateStore(config: Pick<SluiceConfig, 'checkpoint' | 'sink' | 'log'>, logger?: Logger, options: OpenStateOptions = {}): StateStore {
  const data = config.sink.filesystem.kind === 'webhdfs' ? config.sink.filesystem : undefined;
  return openStateStoreOf(config.checkpoint, data, logger ?? createLogger(config.log.level, 2, config.log.format), options);
}

/** A batch job's state store, on checkpoint.dir or checkpoint.hdfs.dir; its records go under `<name>/` in it. */
export function openSyncStateStore(job: SyncJob, logger: Logger): StateStore {
  return openStateStoreOf(job.checkpoint, job.writer.kind === 'hdfs' ? job.writer : undefined, logger, {}).child(job.name);
}

function openStateStoreOf(checkpoint: CheckpointSettings, data: DataOnHdfs | undefined, logger: Logger, options: OpenStateOptions): StateStore {
  const hdfs = checkpoint.hdfs;
  if (checkpoint.store === 'local' || !hdfs) return new LocalStateStore(checkpoint.dir);
  // The data's token belongs to the data's NameNodes: not to NameNodes checkpoint.hdfs names itself.
  const delegationToken = hdfs.delegationToken ?? (hdfs.namenodes ? undefined : data?.delegationToken);
  const spoolDir = hdfs.spoolDir ?? data?.spoolDir;
  const fs = new WebHdfsFileSystem({
    // The schema makes sure one of the two is there.
    namenodes: hdfs.namenodes ?? data!.namenodes,
    user: hdfs.user ?? data?.user ?? 'sluice',
    requestTimeoutMs: Math.min(hdfs.requestTimeoutMs ?? data?.requestTimeoutMs ?? 60_000, options.requestTimeoutMs ?? Infinity),
    logger,
    ...(delegationToken !== undefined ? { delegationToken } : {}),
    ...(spoolDir !== undefined ? { spoolDir } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
  });
  return new HdfsStateStore({ fs, dir: hdfs.dir, ...(options.leader ? { beforeRename: () => options.leader!.check(), takeOverLock: true, epoch: options.leader.epoch } : {}) });
}
