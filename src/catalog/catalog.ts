// What sluice needs of a table catalog: Hive's metastore in production (through HiveServer2), a local
// JSON catalog in the embedded default.
import type { MetadataNames } from '../config/metadata-columns.ts';

export interface HiveColumn {
  name: string;
  /** A Hive type as DDL spells it: 'bigint', 'decimal(20,0)', 'string', 'timestamp', 'binary'. */
  type: string;
}

export type StorageFormat = 'text' | 'parquet';

export interface TableDefinition {
  database: string;
  name: string;
  columns: HiveColumn[];
  partitionColumns: HiveColumn[];
  format: StorageFormat;
  /** Table location on the FileSystem: '<warehouse>/<db>.db/<table>'. */
  location: string;
  /**
   * The source's primary key (Hive column names), recorded when sluice creates the table: what the
   * current-state view groups by. Absent: the source table had none, or sluice did not know it.
   */
  primaryKey?: string[];
  /**
   * A changelog table's metadata column names where they are not the defaults (metadata-names.ts):
   * recorded when sluice creates the table, read by every reader of those columns.
   */
  metadataNames?: MetadataNames;
}

export interface PartitionSpec {
  /** Partition values in the order of the table's partition columns, e.g. { dt: '2026-11-25' }. */
  values: Record<string, string>;
  location: string;
}

export interface Catalog {
  readonly description: string;
  getTable(database: string, name: string): Promise<TableDefinition | undefined>;
  /** CREATE DATABASE/TABLE IF NOT EXISTS: a table that exists is returned as it is. */
  createTable(definition: TableDefinition): Promise<TableDefinition>;
  /** ALTER TABLE ... ADD COLUMNS for the columns the table lacks. Idempotent. */
  addColumns(database: string, name: string, columns: HiveColumn[]): Promise<void>;
  /** ALTER TABLE ... CHANGE COLUMN to a wider type (see type-evolution.ts). Idempotent. */
  changeColumnType(database: string, name: string, column: string, type: string): Promise<void>;
  /** Records the source's primary key with the table (a key the source gained or changed). Idempotent. */
  setPrimaryKey(database: string, name: string, key: string[]): Promise<void>;
  /**
   * ALTER TABLE ... SET LOCATION: the table's rows become the files at `location`, in one step
   * (how a materialized snapshot is swapped in). Idempotent.
   */
  setLocation(database: string, name: string, location: string): Promise<void>;
  /** ALTER TABLE ... ADD IF NOT EXISTS PARTITION. Idempotent. */
  addPartition(database: string, name: string, partition: PartitionSpec): Promise<void>;
  listPartitions(database: string, name: string): Promise<PartitionSpec[]>;
  /** ALTER TABLE ... DROP IF EXISTS PARTITION: the catalog forgets it; its files are the caller's. Idempotent. */
  dropPartition(database: string, name: string, values: Record<string, string>): Promise<void>;
  listTables(): Promise<TableDefinition[]>;
  close(): Promise<void>;
}
