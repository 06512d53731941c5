// A warehouse on local disk for tests of the commit machinery without a daemon (checkpoints,
// recovery, compaction): local files, the local catalog, a checkpoint store, all in a fresh temp
// folder, and the changelog table ods.orders partitioned by dt.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HiveColumn, StorageFormat } from '../../src/catalog/catalog.ts';
import { LocalCatalog } from '../../src/catalog/local-catalog.ts';
import { CheckpointStore } from '../../src/checkpoint/checkpoint-store.ts';
import { LocalFileSystem } from '../../src/filesystem/local-filesystem.ts';
import { METADATA_COLUMNS } from '../../src/sinks/changelog-layout.ts';

export const ORDERS_LOCATION = '/ods.db/orders';

export interface LocalWarehouse {
  dir: string;
  fs: LocalFileSystem;
  catalog: LocalCatalog;
  store: CheckpointStore;
}

/** `columns`: ods.orders' own columns; sluice's metadata columns follow them, as in every changelog table. */
export async function localWarehouse(prefix: string, columns: HiveColumn[], format: StorageFormat = 'text'): Promise<LocalWarehouse> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const fs = new LocalFileSystem(join(dir, 'warehouse'));
  const catalog = new LocalCatalog(join(dir, 'catalog'));
  const store = new CheckpointStore(join(dir, 'state'));
  await catalog.createTable({
    database: 'ods',
    name: 'orders',
    columns: [...columns, ...METADATA_COLUMNS],
    partitionColumns: [{ name: 'dt', type: 'string' }],
    format,
    location: ORDERS_LOCATION,
  });
  return { dir, fs, catalog, store };
}
