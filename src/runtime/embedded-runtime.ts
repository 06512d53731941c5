// Builds the storage and catalog a configuration names. The embedded default: local disk and a
// local catalog. With `sink.filesystem.kind: webhdfs`, files go to HDFS below its warehouse; with
// `sink.catalog.kind: hiveserver2`, tables and partitions are made through HiveServer2.
import type { Catalog } from '../catalog/catalog.ts';
import { HiveServer2Catalog } from '../catalog/hive-server2-catalog.ts';
import { LocalCatalog } from '../catalog/local-catalog.ts';
import type { Logger } from 'pino';
import type { SluiceConfig } from '../config/schema.ts';
import type { FileSystem } from '../filesystem/filesystem.ts';
import { LocalFileSystem } from '../filesystem/local-filesystem.ts';
import { WebHdfsFileSystem } from '../filesystem/webhdfs-filesystem.ts';
import { createLogger } from '../core/logger.ts';

export interface Storage {
  fs: FileSystem;
  catalog: Catalog;
  /** Warehouse root on `fs`. */
  warehouse: string;
}

/**
 * `logger` receives the file system's retries and NameNode failovers; without one they go to stderr,
 * which keeps the stdout of commands such as `sluice query` clean.
 */
export function openStorage(config: Pick<SluiceConfig, 'sink' | 'log'>, logger?: Logger): Storage {
  const { fs, warehouse } = openFileSystem(config.sink.filesystem, logger ?? createLogger(config.log.level, 2, config.log.format));
  return {
    fs,
    catalog: openCatalog(config.sink.catalog, config.sink.materialize.suffix),
    warehouse,
  };
}

function openCatalog(catalog: SluiceConfig['sink']['catalog'], snapshotSuffix: string): Catalog {
  if (catalog.kind === 'local') return new LocalCatalog(catalog.dir);
  const { kind: _kind, ...options } = catalog;
  return new HiveServer2Catalog({ ...options, snapshotSuffix });
}

function openFileSystem(filesystem: SluiceConfig['sink']['filesystem'], logger: Logger): { fs: FileSystem; warehouse: string } {
  if (filesystem.kind === 'local') return { fs: new LocalFileSystem(filesystem.root), warehouse: '/' };
  const fs = new WebHdfsFileSystem({
    namenodes: filesystem.namenodes,
    user: filesystem.user,
    requestTimeoutMs: filesystem.requestTimeoutMs,
    logger,
    ...(filesystem.delegationToken !== undefined ? { delegationToken: filesystem.delegationToken } : {}),
    ...(filesystem.spoolDir !== undefined ? { spoolDir: filesystem.spoolDir } : {}),
  });
  return { fs, warehouse: filesystem.warehouse };
}
