// Builds the storage and catalog a configuration names. The embedded default: local disk and a
// local catalog. (WebHDFS and HiveServer2 plug in here.)
import type { Catalog } from '../catalog/catalog.ts';
import { LocalCatalog } from '../catalog/local-catalog.ts';
import type { SluiceConfig } from '../config/schema.ts';
import type { FileSystem } from '../filesystem/filesystem.ts';
import { LocalFileSystem } from '../filesystem/local-filesystem.ts';

export interface Storage {
  fs: FileSystem;
  catalog: Catalog;
  /** Warehouse root on `fs`. */
  warehouse: string;
}

export function openStorage(config: SluiceConfig): Storage {
  return {
    fs: new LocalFileSystem(config.sink.filesystem.root),
    catalog: new LocalCatalog(config.sink.catalog.dir),
    warehouse: '/',
  };
}
