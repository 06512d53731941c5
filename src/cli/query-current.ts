// The current-state view of a changelog table in `sluice query`: `db.t_current` holds, per primary key
// (and per `_source`: shards merged into one table are different rows), the row with the highest
// `_seq`, unless that row is a delete or a truncate marker of its `_source` with a higher `_seq` covers
// it; the source columns only. It is a DuckDB view over the table's own view (../sinks/warehouse-views.ts), so it
// reads the same committed files and nothing else.
//
// The key: the source's primary key as sluice records it with the table (the local catalog's JSON,
// Hive's table property sluice.primary.key), or the columns `--key` names, which win. `sluice query`
// never connects to the source (it runs without the MySQL password), so a table without a recorded
// key (the source has none, or no change of it was written since sluice records keys) needs `--key`.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { TableDefinition } from '../catalog/catalog.ts';
import { SluiceError } from '../core/errors.ts';
import { metadataNamesOf, metadataNameSet } from '../catalog/metadata-names.ts';
import { currentStateSql } from '../sinks/current-state-sql.ts';
import { snapshotAndChanges } from '../sinks/snapshot-table.ts';
import { qualified, quote, tablesNamedIn } from '../sinks/warehouse-views.ts';

export const CURRENT_SUFFIX = '_current';

export function currentName(table: TableDefinition): string {
  return `${table.name}${CURRENT_SUFFIX}`;
}

/**
 * The changelog tables whose current-state view `sql` names as a word (`t_current` for table `t`),
 * unless the catalog has a real table of that name, which then is what the name means.
 */
export function currentViewsNamedIn(sql: string, tables: TableDefinition[]): TableDefinition[] {
  const real = new Set(tables.map((table) => `${table.database}.${table.name}`.toLowerCase()));
  const candidates = tables
    .filter((table) => !real.has(`${table.database}.${currentName(table)}`.toLowerCase()))
    .map((table) => ({ ...table, name: currentName(table), base: table }));
  return tablesNamedIn(sql, candidates).map((candidate) => candidate.base);
}

/** A materialized snapshot of the table (sinks/snapshot-table.ts): its DuckDB view, and the `_seq` it holds the fold of. */
export interface SnapshotSource {
  view: string;
  watermark: bigint;
}

/**
 * Creates `db.t_current` over the view `db.t`, which must exist already; with a snapshot, over the
 * snapshot plus the changes after its watermark, so the window runs over the keys' latest rows only.
 */
export async function createCurrentView(connection: DuckDBConnection, table: TableDefinition, given: string[] | undefined, snapshot?: SnapshotSource): Promise<void> {
  const key = keyOf(table, given);
  const name = `${table.database}.${currentName(table)}`;
  const columnNames = new Set(table.columns.map((column) => column.name));
  const names = metadataNamesOf(table);
  const metadata = metadataNameSet(names);
  if (!columnNames.has(names.op) || !columnNames.has(names.seq)) {
    throw new SluiceError('SLUICE_QUERY', `${name} cannot be made: ${table.database}.${table.name} is not a changelog table (it has no ${names.op} and ${names.seq} columns)`, {
      context: { table: `${table.database}.${table.name}` },
    });
  }
  if (key === undefined || key.length === 0) {
    throw new SluiceError(
      'SLUICE_QUERY',
      `${name} needs the primary key of ${table.database}.${table.name}, which the catalog does not record (the source table has no primary key, or sluice ` +
        'has not written a change of it since it records keys) and sluice query does not ask the source for: name its columns with --key col[,col]',
      { context: { table: `${table.database}.${table.name}` } },
    );
  }
  const sourceColumns = table.columns.filter((column) => !metadata.has(column.name));
  const unknown = key.filter((column) => !sourceColumns.some((source) => source.name === column));
  if (unknown.length > 0) {
    throw new SluiceError(
      'SLUICE_QUERY',
      `--key names ${unknown.join(', ')}, not a source column of ${table.database}.${table.name} (its columns: ${sourceColumns.map((column) => column.name).join(', ')})`,
      { context: { table: `${table.database}.${table.name}` } },
    );
  }
  const select = sourceColumns.map((column) => quote(column.name)).join(', ');
  const from = snapshot === undefined ? qualified(table) : `(${snapshotAndChanges(snapshot.view, table, snapshot.watermark)})`;
  await connection.run(
    `CREATE VIEW ${quote(table.database)}.${quote(currentName(table))} AS ` + currentStateSql({ from, key, hasSource: columnNames.has(names.source), select, names }),
  );
}

/** The columns `--key` names, else the key the catalog records for the table. */
export function keyOf(table: TableDefinition, given: string[] | undefined): string[] | undefined {
  return given !== undefined && given.length > 0 ? given : table.primaryKey;
}

/** `--key id,region` as column names. */
export function parseKey(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  return text
    .split(',')
    .map((column) => column.trim())
    .filter((column) => column.length > 0);
}
