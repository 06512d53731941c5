// The materialized current state of a changelog table `t` is the table `t_snapshot` (the suffix is
// configurable): unpartitioned, the changelog's columns (metadata included: `_seq` and `_source` are
// what the next fold compares with), one surviving row per key. Each materialization writes a new
// directory below `<t's location>_snapshot/` and swaps the table's location to it, so the directory
// name carries the snapshot's watermark: `g-<watermark>-<id>`. One catalog update (a JSON document
// written atomically, or one `ALTER TABLE ... SET LOCATION`) moves the rows and the watermark together.
//
// A reader of the current state takes the snapshot plus the changes with `_seq` above its watermark.
// The names and locations are ../catalog/snapshot-location.ts (the Hive view reads them too).
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Catalog, TableDefinition } from '../catalog/catalog.ts';
import { metadataNamesOf } from '../catalog/metadata-names.ts';
import { snapshotTableName, snapshotWatermark } from '../catalog/snapshot-location.ts';
import type { FileSystem } from '../filesystem/filesystem.ts';
import { createTableView, qualified, quote, type ViewOptions } from './warehouse-views.ts';

/**
 * The snapshot's rows, then the changes above `after` (and up to `upTo`): the input of the current-state
 * rule. `snapshotView` is the DuckDB view over the snapshot's files, `table` the changelog's view.
 * The snapshot has no partition columns: BY NAME fills them with NULL.
 */
export function snapshotAndChanges(snapshotView: string | undefined, table: TableDefinition, after: bigint, upTo?: bigint): string {
  const seq = quote(metadataNamesOf(table).seq);
  const range = `${seq} > ${after}` + (upTo === undefined ? '' : ` AND ${seq} <= ${upTo}`);
  const changes = `SELECT * FROM ${qualified(table)} WHERE ${range}`;
  return snapshotView === undefined ? changes : `SELECT * FROM ${snapshotView} UNION ALL BY NAME ${changes}`;
}

/** The DuckDB name of the view over a snapshot's files: apart from every catalog table's, which `--sql` may name. */
export function snapshotViewName(table: TableDefinition): string {
  return `${quote(table.database)}.${quote(`__sluice_snapshot_${table.name}`)}`;
}

/** A snapshot of `table` as the current-state rule reads it: its DuckDB view and its watermark. */
export interface SnapshotView {
  definition: TableDefinition;
  view: string;
  watermark: bigint;
}

/**
 * Makes the DuckDB view over the files of `table`'s snapshot, if sluice materialized one. It reads the
 * snapshot with the changelog's columns: those added since the snapshot was written read as NULL,
 * as Hive reads them after ADD COLUMNS, and a widened type reads at its new width.
 */
export async function createSnapshotView(
  connection: DuckDBConnection,
  table: TableDefinition,
  catalog: Catalog,
  fs: FileSystem,
  scratch: () => Promise<string>,
  suffix: string,
  options: ViewOptions = {},
): Promise<SnapshotView | undefined> {
  const definition = await catalog.getTable(table.database, snapshotTableName(table, suffix));
  const watermark = definition === undefined ? undefined : snapshotWatermark(definition);
  if (definition === undefined || watermark === undefined) return undefined;
  const shaped = { ...definition, name: `__sluice_snapshot_${table.name}`, columns: table.columns, partitionColumns: [] };
  await createTableView(connection, shaped, catalog, fs, scratch, options);
  return { definition, view: snapshotViewName(table), watermark };
}

export { DEFAULT_SNAPSHOT_SUFFIX, generationLocation, snapshotRoot, snapshotTableName, snapshotWatermark } from '../catalog/snapshot-location.ts';
