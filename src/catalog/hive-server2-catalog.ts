// The production catalog: Hive's metastore, through HiveServer2. sluice creates its tables EXTERNAL,
// partitioned and stored as it writes them (text with sluice's SerDe settings, or Parquet), at
// locations on the cluster's HDFS that its FileSystem writes to; a table that is already there is
// used only when it fits (hive-table-fit.ts), and every change is idempotent, because a checkpoint
// commit may run again after a crash.
import { SluiceError, isSluiceError } from '../core/errors.ts';
import type { Catalog, HiveColumn, PartitionSpec, TableDefinition } from './catalog.ts';
import { HiveConnection, type HiveConnectionOptions } from './hive-connection.ts';
import { currentViewName, currentViewStatement, DEFAULT_CURRENT_VIEW, type CurrentViewOptions, type MaterializedSnapshot } from './hive-current-view.ts';
import { DEFAULT_SNAPSHOT_SUFFIX, snapshotTableName, snapshotWatermark } from './snapshot-location.ts';
import {
  addColumnsStatement,
  addPartitionStatement,
  changeColumnTypeStatement,
  createDatabaseStatement,
  createTableStatement,
  describeFormattedStatement,
  normalizeHiveType,
  partitionClause,
  qualifiedName,
  PRIMARY_KEY_PROPERTY,
  primaryKeyFromProperty,
  setPrimaryKeyStatement,
  SHOW_DATABASES,
  showPartitionsStatement,
  showTablesStatement,
  stringLiteral,
} from './hive-ddl.ts';
import { parseDescribeFormatted, parsePartitionName, storageFormatOf, type DescribedTable } from './hive-describe.ts';
import { formatDefaultFs, fromHiveUri, parseDefaultFs, toHiveUri, type FileSystemName } from './hive-location.ts';
import { describeHiveLayout, describeWantedLayout, layoutMisfits, storageMisfit } from './hive-table-fit.ts';
import { METADATA_NAMES_PROPERTY, metadataNamesFromProperty, type MetadataNames } from './metadata-names.ts';

export interface HiveServer2CatalogOptions extends HiveConnectionOptions {
  /**
   * fs.defaultFS of the cluster the FileSystem writes to, as Hive's core-site.xml names it
   * ('hdfs://namenode:8020', or an HA nameservice 'hdfs://mycluster'): table and partition locations
   * are this URI followed by the FileSystem path. Default: HiveServer2's own (`SET fs.defaultFS`).
   */
  fsDefaultFS?: string;
  /** The current-state view `<table><suffix>` of every table with a recorded primary key (hive-current-view.ts). */
  currentView?: CurrentViewOptions;
  /** The suffix of materialized snapshot tables (`sink.materialize.suffix`), which the current-state views read. */
  snapshotSuffix?: string;
}

// Hive's ErrorMsg codes for "Table not found" and "Database does not exist".
const TABLE_NOT_FOUND = 10001;
const DATABASE_NOT_FOUND = 10072;

export class HiveServer2Catalog implements Catalog {
  readonly description: string;
  private readonly connection: HiveConnection;
  private fsName: Promise<FileSystemName> | undefined;
  private readonly currentView: CurrentViewOptions;
  private readonly snapshotSuffix: string;
  /** Tables whose view this run has made sure of since it started (see addPartition). */
  private readonly viewsChecked = new Set<string>();

  constructor(options: HiveServer2CatalogOptions) {
    this.connection = new HiveConnection(options);
    this.currentView = options.currentView ?? DEFAULT_CURRENT_VIEW;
    this.snapshotSuffix = options.snapshotSuffix ?? DEFAULT_SNAPSHOT_SUFFIX;
    if (options.fsDefaultFS !== undefined) {
      // Parsed now, so that a malformed value fails at start.
      const fs = parseDefaultFs(options.fsDefaultFS);
      this.fsName = Promise.resolve(fs);
      this.description = `${this.connection.description}, files on ${formatDefaultFs(fs)}`;
    } else {
      this.description = `${this.connection.description}, files on its fs.defaultFS`;
    }
  }

  async getTable(database: string, name: string): Promise<TableDefinition | undefined> {
    const described = await this.describe(database, name);
    return described && this.toDefinition(database, name, described, await this.fileSystem());
  }

  async createTable(definition: TableDefinition): Promise<TableDefinition> {
    const { database, name } = definition;
    const fs = await this.fileSystem();
    const locationUri = toHiveUri(fs, definition.location);
    const found = await this.lookUp(database, name);
    let described = typeof found === 'string' ? undefined : found;
    if (!described) {
      // Only when the database is missing: CREATE DATABASE needs a privilege that a user who may
      // create tables in an existing database often lacks, even with IF NOT EXISTS.
      if (found === 'no-database') await this.connection.execute(createDatabaseStatement(database, databaseLocation(definition, fs)));
      await this.connection.execute(createTableStatement(definition, locationUri));
      // Read back rather than trust: IF NOT EXISTS is silent about a table created meanwhile.
      described = await this.describe(database, name);
      if (!described) throw this.error(`table ${database}.${name} is not there after CREATE TABLE`, database, name);
    }
    const misfits = layoutMisfits(definition, described, fs);
    if (misfits.length > 0) {
      throw this.error(
        `table ${database}.${name} exists in Hive with a layout sluice cannot write into: ${misfits.join('; ')}. ` +
          `sluice wants ${describeWantedLayout(definition, locationUri)}; Hive has ${describeHiveLayout(described)}. ` +
          'Nothing was written to it. Drop or rename the Hive table, or route the changes to another table.',
        database,
        name,
      );
    }
    const table = this.toDefinition(database, name, described, fs);
    await this.replaceCurrentView(table);
    await this.replaceViewOverSnapshot(table);
    return table;
  }

  async addColumns(database: string, name: string, columns: HiveColumn[]): Promise<void> {
    const table = await this.mustGet(database, name);
    const known = new Set(table.columns.map((column) => column.name));
    const missing = columns.filter((column) => !known.has(column.name.toLowerCase()));
    if (missing.length === 0) return;
    try {
      await this.connection.execute(addColumnsStatement(database, name, missing, table.partitionColumns.length > 0));
    } catch (error) {
      // ADD COLUMNS is the one statement that is not idempotent: if it ran before a dropped
      // connection and was sent again, Hive answers "Duplicate column name". What counts is the result.
      const after = await this.getTable(database, name).catch(() => undefined);
      const present = new Set(after?.columns.map((column) => column.name));
      if (!after || !missing.every((column) => present.has(column.name.toLowerCase()))) throw error;
    }
    await this.replaceCurrentView(await this.mustGet(database, name));
  }

  async changeColumnType(database: string, name: string, column: string, type: string): Promise<void> {
    const table = await this.mustGet(database, name);
    const current = table.columns.find((existing) => existing.name === column.toLowerCase());
    if (!current) throw this.error(`table ${database}.${name} has no column ${column}`, database, name);
    if (normalizeHiveType(current.type) === normalizeHiveType(type)) return;
    await this.connection.execute(changeColumnTypeStatement(database, name, column, type, table.partitionColumns.length > 0));
    await this.replaceCurrentView(await this.mustGet(database, name));
  }

  async setPrimaryKey(database: string, name: string, key: string[]): Promise<void> {
    const table = await this.mustGet(database, name);
    if (table.primaryKey?.join(',') === key.join(',')) return;
    await this.connection.execute(setPrimaryKeyStatement(database, name, key));
    await this.replaceCurrentView({ ...table, primaryKey: key });
  }

  async setLocation(database: string, name: string, location: string): Promise<void> {
    const table = await this.mustGet(database, name);
    if (table.location === location) return;
    const uri = toHiveUri(await this.fileSystem(), location);
    await this.connection.execute(`ALTER TABLE ${qualifiedName(database, name)} SET LOCATION ${stringLiteral(uri)}`);
    await this.replaceViewOverSnapshot({ ...table, location });
  }

  /** A materialized snapshot swapped in (or made): the view of its changelog table reads it from now on. */
  private async replaceViewOverSnapshot(snapshot: TableDefinition): Promise<void> {
    if (!snapshot.name.endsWith(this.snapshotSuffix) || snapshotWatermark(snapshot) === undefined) return;
    const base = await this.getTable(snapshot.database, snapshot.name.slice(0, -this.snapshotSuffix.length));
    if (base) await this.replaceCurrentView(base);
  }

  /**
   * CREATE OR REPLACE VIEW `<table>_current` (hive-current-view.ts), in step with the table's columns.
   * Nothing for a table without a recorded key, and nothing over a table of that name: a view of that
   * name is taken as sluice's (the name is the table's own with the configured suffix).
   */
  private async replaceCurrentView(table: TableDefinition): Promise<void> {
    const statement = this.currentView.enabled ? currentViewStatement(table, this.currentView, await this.snapshotOf(table)) : undefined;
    if (statement) {
      const existing = await this.lookUp(table.database, currentViewName(table, this.currentView));
      if (typeof existing === 'string' || existing.tableType === 'VIRTUAL_VIEW') await this.connection.execute(statement);
    }
    this.viewsChecked.add(`${table.database}.${table.name}`.toLowerCase());
  }

  private async snapshotOf(table: TableDefinition): Promise<MaterializedSnapshot | undefined> {
    if (!table.primaryKey || table.primaryKey.length === 0) return undefined;
    const snapshot = await this.getTable(table.database, snapshotTableName(table, this.snapshotSuffix));
    const watermark = snapshot && snapshotWatermark(snapshot);
    return snapshot && watermark !== undefined ? { table: snapshot, watermark } : undefined;
  }

  async addPartition(database: string, name: string, partition: PartitionSpec): Promise<void> {
    // IF NOT EXISTS makes a repeated commit a no-op. It also keeps the location of a partition that
    // exists elsewhere; sluice's partitions are always at <table>/<k=v>.
    const location = toHiveUri(await this.fileSystem(), partition.location);
    await this.connection.execute(addPartitionStatement(database, name, partition.values, location));
    // Once per table and run, at its first commit: a run that stopped between an ALTER and the view's
    // re-creation left the view behind the table's columns, and the ALTER is not sent again.
    const key = `${database}.${name}`.toLowerCase();
    if (!this.viewsChecked.has(key)) await this.replaceCurrentView(await this.mustGet(database, name));
  }

  /**
   * SHOW PARTITIONS gives the values, not the locations. Each partition is taken to be at
   * `<table location>/<k=v>/...`, where sluice puts them and Hive puts them by default: asking Hive
   * (DESCRIBE FORMATTED ... PARTITION) costs a round trip per partition. A partition a user added by
   * hand somewhere else is listed at that default place.
   */
  async dropPartition(database: string, name: string, values: Record<string, string>): Promise<void> {
    await this.connection.execute(`ALTER TABLE ${qualifiedName(database, name)} DROP IF EXISTS PARTITION ${partitionClause(values)}`);
  }

  async listPartitions(database: string, name: string): Promise<PartitionSpec[]> {
    const table = await this.mustGet(database, name);
    const rows = await this.connection.query(showPartitionsStatement(database, name));
    return rows.map((row) => {
      const shown = parsePartitionName(String(Object.values(row)[0] ?? ''));
      return { values: shown.values, location: `${table.location.replace(/\/$/, '')}/${shown.path}` };
    });
  }

  /** Every table of every database that sluice could write into (text or Parquet on this file system). */
  async listTables(): Promise<TableDefinition[]> {
    const tables: TableDefinition[] = [];
    const fs = await this.fileSystem();
    const databases = (await this.connection.query(SHOW_DATABASES)).map((row) => String(Object.values(row)[0]));
    for (const database of databases.sort()) {
      const names = (await this.connection.query(showTablesStatement(database))).map((row) => String(Object.values(row)[0]));
      for (const name of names.sort()) {
        try {
          const described = await this.describe(database, name);
          if (!described || storageMisfit(described)) continue;
          tables.push(this.toDefinition(database, name, described, fs));
        } catch (error) {
          // A table this user may not describe, or one on another file system, is not sluice's;
          // a connection that fails (retriable) fails the listing.
          if (!isSluiceError(error, 'SLUICE_CATALOG') || error.retriable) throw error;
        }
      }
    }
    return tables;
  }

  /**
   * Opens a session and asks for the server's fs.defaultFS, for `sluice check`: the description of
   * what answered, and the file system Hive names table locations with.
   */
  async probe(): Promise<{ server: string; fsDefaultFS: string }> {
    const fs = await this.askDefaultFs();
    return { server: this.connection.description, fsDefaultFS: formatDefaultFs(fs) };
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  /** DESCRIBE FORMATTED, or undefined when the table or its database does not exist. */
  private async describe(database: string, name: string): Promise<DescribedTable | undefined> {
    const found = await this.lookUp(database, name);
    return typeof found === 'string' ? undefined : found;
  }

  private async lookUp(database: string, name: string): Promise<DescribedTable | 'no-table' | 'no-database'> {
    try {
      return parseDescribeFormatted(await this.connection.query(describeFormattedStatement(database, name)));
    } catch (error) {
      const code = isSluiceError(error) ? error.context.hiveErrorCode : undefined;
      if (code === TABLE_NOT_FOUND) return 'no-table';
      if (code === DATABASE_NOT_FOUND) return 'no-database';
      throw error;
    }
  }

  /** The configured fs.defaultFS, or HiveServer2's, asked once. */
  private fileSystem(): Promise<FileSystemName> {
    if (!this.fsName) {
      const asking = this.askDefaultFs();
      this.fsName = asking;
      asking.catch(() => {
        if (this.fsName === asking) this.fsName = undefined;
      });
    }
    return this.fsName;
  }

  private async askDefaultFs(): Promise<FileSystemName> {
    const rows = await this.connection.query('SET fs.defaultFS');
    const answer = String(Object.values(rows[0] ?? {})[0] ?? '');
    const value = /^fs\.defaultFS=(.*)$/.exec(answer)?.[1]?.trim();
    if (!value || /^file:/i.test(value) || / is undefined$/.test(answer)) {
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        `${this.connection.description} reports fs.defaultFS as '${value ?? answer}', not an HDFS URI; set the catalog's fsDefaultFS (e.g. hdfs://namenode:8020)`,
        { context: { server: this.connection.server } },
      );
    }
    return parseDefaultFs(value);
  }

  private toDefinition(database: string, name: string, described: DescribedTable, fs: FileSystemName): TableDefinition {
    const misfit = storageMisfit(described);
    const format = storageFormatOf(described);
    if (misfit || !format) {
      throw this.error(
        `table ${database}.${name} exists in Hive, but sluice cannot write into it: ${misfit}. Hive has ${describeHiveLayout(described)}.`,
        database,
        name,
      );
    }
    return {
      database: database.toLowerCase(),
      name: name.toLowerCase(),
      columns: described.columns,
      partitionColumns: described.partitionColumns,
      format,
      location: fromHiveUri(fs, described.location, `table ${database}.${name}`),
      ...primaryKeyOf(described),
      ...metadataNamesOfDescribed(described),
    };
  }

  private async mustGet(database: string, name: string): Promise<TableDefinition> {
    const table = await this.getTable(database, name);
    if (!table) throw this.error(`table ${database}.${name} does not exist in ${this.description}`, database, name);
    return table;
  }

  private error(message: string, database: string, name: string): SluiceError {
    return new SluiceError('SLUICE_CATALOG', message, { context: { table: `${database}.${name}`, server: this.connection.server } });
  }
}

function primaryKeyOf(described: DescribedTable): { primaryKey?: string[] } {
  const key = primaryKeyFromProperty(described.tableParameters[PRIMARY_KEY_PROPERTY]);
  return key ? { primaryKey: key } : {};
}

function metadataNamesOfDescribed(described: DescribedTable): { metadataNames?: MetadataNames } {
  const names = metadataNamesFromProperty(described.tableParameters[METADATA_NAMES_PROPERTY]);
  return names ? { metadataNames: names } : {};
}

/**
 * '<warehouse>/<db>.db' when the table sits in such a folder, as Hive lays out a warehouse. (Hive 4
 * moves a database location inside its managed warehouse to the external warehouse, keeping the
 * given one as the managed location; the tables sluice creates name their own location anyway.)
 */
function databaseLocation(definition: TableDefinition, fs: FileSystemName): string | undefined {
  const parent = definition.location.replace(/\/+$/, '').replace(/\/[^/]*$/, '');
  const folder = parent.slice(parent.lastIndexOf('/') + 1);
  return folder.toLowerCase() === `${definition.database.toLowerCase()}.db` ? toHiveUri(fs, parent) : undefined;
}
