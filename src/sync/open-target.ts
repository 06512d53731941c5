// Builds the target a job's `writer` section names.
import type { Logger } from 'pino';
import type { SyncJob } from '../config/sync-job-schema.ts';
import { FtpFileSystem } from '../filesystem/ftp-filesystem.ts';
import { LocalFileSystem } from '../filesystem/local-filesystem.ts';
import { WebHdfsFileSystem } from '../filesystem/webhdfs-filesystem.ts';
import { FileTarget } from './file-target.ts';
import { MysqlTarget } from './mysql-target.ts';
import type { SyncStateStore } from './sync-state-store.ts';

export function openTarget(job: SyncJob, hiveTypes: string[], store: SyncStateStore, logger: Logger): FileTarget | MysqlTarget {
  const writer = job.writer;
  switch (writer.kind) {
    case 'mysql':
      return new MysqlTarget({ ...writer, job: job.name });
    case 'local':
      return new FileTarget({ fs: new LocalFileSystem('/'), path: writer.path, mode: writer.mode, rollBytes: writer.rollBytes, hiveTypes, store });
    case 'hdfs': {
      const fs = new WebHdfsFileSystem({
        namenodes: writer.namenodes,
        user: writer.user,
        requestTimeoutMs: writer.requestTimeoutMs,
        logger,
        ...(writer.delegationToken !== undefined ? { delegationToken: writer.delegationToken } : {}),
        ...(writer.spoolDir !== undefined ? { spoolDir: writer.spoolDir } : {}),
      });
      return new FileTarget({ fs, path: writer.path, mode: writer.mode, rollBytes: writer.rollBytes, hiveTypes, store });
    }
    case 'ftp': {
      const fs = new FtpFileSystem({ host: writer.host, port: writer.port, user: writer.user, password: writer.password, root: '/' });
      return new FileTarget({ fs, path: writer.path, mode: writer.mode, rollBytes: writer.rollBytes, hiveTypes, store });
    }
  }
}
