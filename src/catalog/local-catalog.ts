// The embedded default's stand-in for the Hive metastore: one JSON document per table under a local
// directory, written with the same atomic rule as checkpoints (temp file, fsync, rename), so a crash
// leaves either the old definition or the new one.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SluiceError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/atomic-file.ts';
import { listDirectory } from '../core/json-records.ts';
import { withCatalogLock } from './local-catalog-lock.ts';
import type { Catalog, HiveColumn, PartitionSpec, TableDefinition } from './catalog.ts';

interface StoredTable extends TableDefinition {
  partitions: PartitionSpec[];
}

export class LocalCatalog implements Catalog {
  readonly description: string;
  // Reads come from the cache, which saves a read per partition; every change reads the document
  // afresh under the catalog's lock, since other processes (several Kafka loaders) may change it too.
  private readonly cache = new Map<string, StoredTable>();

  constructor(private readonly dir: string) {
    this.description = `local catalog at ${dir}`;
  }

  private fileOf(database: string, name: string): string {
    return join(this.dir, database, `${name}.json`);
  }

  private async load(database: string, name: string, fresh = false): Promise<StoredTable | undefined> {
    const key = `${database}.${name}`;
    const cached = this.cache.get(key);
    if (cached && !fresh) return cached;
    const file = this.fileOf(database, name);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new SluiceError('SLUICE_CATALOG', `cannot read table ${key} from ${file}`, { cause: error, context: { file, table: key } });
    }
    try {
      const table = JSON.parse(text) as StoredTable;
      this.cache.set(key, table);
      return table;
    } catch (error) {
      throw new SluiceError('SLUICE_CATALOG', `table definition ${file} is not valid JSON`, { cause: error, context: { file, table: key } });
    }
  }

  private async store(table: StoredTable): Promise<void> {
    await mkdir(join(this.dir, table.database), { recursive: true });
    await writeFileAtomic(this.fileOf(table.database, table.name), JSON.stringify(table, null, 2) + '\n');
    this.cache.set(`${table.database}.${table.name}`, table);
  }

  async getTable(database: string, name: string): Promise<TableDefinition | undefined> {
    const table = await this.load(database, name);
    if (!table) return undefined;
    const { partitions: _partitions, ...definition } = table;
    return definition;
  }

  async createTable(definition: TableDefinition): Promise<TableDefinition> {
    const existing = await this.getTable(definition.database, definition.name);
    if (existing) return existing;
    return withCatalogLock(this.dir, async () => {
      // Another process may have created it since the look above.
      const created = await this.load(definition.database, definition.name, true);
      if (created) return (await this.getTable(definition.database, definition.name))!;
      await this.store({ ...definition, partitions: [] });
      return definition;
    });
  }

  /** Reads the table afresh under the lock, and stores what `change` makes of it (undefined: nothing to change). */
  private change(database: string, name: string, change: (table: StoredTable) => StoredTable | undefined): Promise<void> {
    return withCatalogLock(this.dir, async () => {
      const changed = change(await this.mustLoad(database, name, true));
      if (changed) await this.store(changed);
    });
  }

  addColumns(database: string, name: string, columns: HiveColumn[]): Promise<void> {
    return this.change(database, name, (table) => {
      const known = new Set(table.columns.map((column) => column.name));
      const missing = columns.filter((column) => !known.has(column.name));
      return missing.length === 0 ? undefined : { ...table, columns: [...table.columns, ...missing] };
    });
  }

  changeColumnType(database: string, name: string, column: string, type: string): Promise<void> {
    return this.change(database, name, (table) => {
      if (!table.columns.some((existing) => existing.name === column)) {
        throw new SluiceError('SLUICE_CATALOG', `table ${database}.${name} has no column ${column}`, { context: { table: `${database}.${name}` } });
      }
      return { ...table, columns: table.columns.map((existing) => (existing.name === column ? { ...existing, type } : existing)) };
    });
  }

  setPrimaryKey(database: string, name: string, key: string[]): Promise<void> {
    return this.change(database, name, (table) => (table.primaryKey?.join(',') === key.join(',') ? undefined : { ...table, primaryKey: key }));
  }

  setLocation(database: string, name: string, location: string): Promise<void> {
    return this.change(database, name, (table) => (table.location === location ? undefined : { ...table, location }));
  }

  async addPartition(database: string, name: string, partition: PartitionSpec): Promise<void> {
    const key = JSON.stringify(partition.values);
    const has = (table: StoredTable) => table.partitions.some((existing) => JSON.stringify(existing.values) === key);
    // Every checkpoint names its partitions again: the cached copy answers most of them.
    if (has(await this.mustLoad(database, name))) return;
    await this.change(database, name, (table) => (has(table) ? undefined : { ...table, partitions: [...table.partitions, partition] }));
  }

  dropPartition(database: string, name: string, values: Record<string, string>): Promise<void> {
    const key = JSON.stringify(values);
    return this.change(database, name, (table) =>
      table.partitions.some((existing) => JSON.stringify(existing.values) === key) ? { ...table, partitions: table.partitions.filter((existing) => JSON.stringify(existing.values) !== key) } : undefined,
    );
  }

  async listPartitions(database: string, name: string): Promise<PartitionSpec[]> {
    return (await this.mustLoad(database, name)).partitions;
  }

  async listTables(): Promise<TableDefinition[]> {
    const tables: TableDefinition[] = [];
    for (const database of (await listDirectory(this.dir)).sort()) {
      const files = await readdir(join(this.dir, database)).catch(() => [] as string[]);
      for (const file of files.sort()) {
        if (!file.endsWith('.json')) continue;
        const table = await this.getTable(database, file.slice(0, -'.json'.length));
        if (table) tables.push(table);
      }
    }
    return tables;
  }

  private async mustLoad(database: string, name: string, fresh = false): Promise<StoredTable> {
    const table = await this.load(database, name, fresh);
    if (!table) {
      throw new SluiceError('SLUICE_CATALOG', `table ${database}.${name} does not exist in ${this.description}`, {
        context: { table: `${database}.${name}` },
      });
    }
    return table;
  }

  async close(): Promise<void> {}
}
