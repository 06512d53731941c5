// The current-state view Hive users query: `<table>_current` over a changelog table holds, per
// primary key and `_source` (shards merged into one table are different rows), the row with the
// highest `_seq`, unless that row is a delete or a truncate marker of its `_source` with a higher
// `_seq` covers it; the source columns only. The HiveQL twin of the DuckDB view `sluice query` makes
// (src/cli/query-current.ts): the same rule, so both answer alike over the same files.
//
// A Hive view stores its column list when it is created (`SELECT *` is expanded then), so it is
// re-created (CREATE OR REPLACE) whenever the table's columns change: ADD COLUMNS, a widened type.
import type { TableDefinition } from './catalog.ts';
import { qualifiedName, quoteIdentifier } from './hive-ddl.ts';
import { metadataNamesOf, metadataNameSet, type MetadataNames } from './metadata-names.ts';

export interface CurrentViewOptions {
  /** Off: no view is made (an existing one is left as it is). */
  enabled: boolean;
  /** The view's name is the table's followed by this. */
  suffix: string;
}

export const DEFAULT_CURRENT_VIEW: CurrentViewOptions = { enabled: true, suffix: '_current' };

/**
 * The metadata columns, which the view leaves out: in a changelog table (sinks/changelog-layout.ts,
 * checked by the sink before it writes) they are one run from `_op` to `_source` (`_seq` in tables
 * from before `_source`), after the source columns and before any added since, under the names the
 * table records (metadata-names.ts).
 */
function metadataColumns(columns: readonly string[], names: MetadataNames): Set<string> {
  const start = columns.indexOf(names.op);
  const end = columns.includes(names.source) ? columns.indexOf(names.source) : columns.indexOf(names.seq);
  const known = metadataNameSet(names);
  return new Set(start >= 0 && end > start ? columns.slice(start, end + 1).filter((name) => known.has(name)) : []);
}

export function currentViewName(table: Pick<TableDefinition, 'name'>, options: CurrentViewOptions): string {
  return `${table.name}${options.suffix}`;
}

/**
 * CREATE OR REPLACE VIEW for the table, or undefined where no view can be made: the table records no
 * primary key (the source had none), or it lacks the changelog columns.
 */
export function currentViewStatement(table: TableDefinition, options: CurrentViewOptions, snapshot?: MaterializedSnapshot): string | undefined {
  const names = new Set(table.columns.map((column) => column.name));
  const m = metadataNamesOf(table);
  const metadata = metadataColumns(table.columns.map((column) => column.name), m);
  const key = table.primaryKey;
  if (!key || key.length === 0 || metadata.size === 0 || !key.every((column) => names.has(column)) || !names.has(m.op) || !names.has(m.seq)) return undefined;
  const q = quoteIdentifier;
  const [op, seq, bySource] = [q(m.op), q(m.seq), names.has(m.source) ? q(m.source) : undefined];
  const source = table.columns.filter((column) => !metadata.has(column.name)).map((column) => q(column.name));
  const perKey = [...(bySource ? [bySource] : []), ...key.map(q)].join(', ');
  const perSource = bySource ? `PARTITION BY ${bySource}` : '';
  const rowColumns = [...source, op, seq, ...(bySource ? [bySource] : [])];
  const rows = snapshot === undefined ? qualifiedName(table.database, table.name) : `(${snapshotAndChanges(table, metadata, m, snapshot)}) ${q('sluice_rows')}`;
  // Truncate markers have NULL source columns: their own key group, never the latest row of a real key.
  const ranked =
    `SELECT ${rowColumns.join(', ')}, ` +
    `row_number() OVER (PARTITION BY ${perKey} ORDER BY ${seq} DESC) AS ${q('sluice_rank')}, ` +
    `max(CASE WHEN ${op} = 'truncate' THEN ${seq} END) OVER (${perSource}) AS ${q('sluice_truncated')} ` +
    `FROM ${rows}`;
  return (
    `CREATE OR REPLACE VIEW ${qualifiedName(table.database, currentViewName(table, options))} AS ` +
    `SELECT ${source.join(', ')} FROM (${ranked}) ${q('ranked')} ` +
    `WHERE ${q('sluice_rank')} = 1 AND ${op} IN ('insert', 'update', 'read') AND ${seq} > coalesce(${q('sluice_truncated')}, -1)`
  );
}

/** A materialized snapshot of the table (src/sinks/materialize.ts): its definition and the `_seq` it holds the fold of. */
export interface MaterializedSnapshot {
  table: TableDefinition;
  watermark: bigint;
}

/**
 * The snapshot's rows and the changes after its watermark, with the changelog's columns and types: a
 * column added since the snapshot was written is NULL in it, a widened one cast to the new width.
 * The rule over them is indifferent to a row read twice, so the view stays exact in the moment
 * between a swap and this view's re-creation, when it still names the older watermark.
 */
function snapshotAndChanges(table: TableDefinition, metadata: ReadonlySet<string>, names: MetadataNames, snapshot: MaterializedSnapshot): string {
  const q = quoteIdentifier;
  const wanted = table.columns.filter((column) => !metadata.has(column.name) || [names.op, names.seq, names.source].includes(column.name));
  const held = new Set(snapshot.table.columns.map((column) => column.name.toLowerCase()));
  const fromSnapshot = wanted.map((column) => `CAST(${held.has(column.name.toLowerCase()) ? q(column.name) : 'NULL'} AS ${column.type}) AS ${q(column.name)}`);
  return (
    `SELECT ${fromSnapshot.join(', ')} FROM ${qualifiedName(snapshot.table.database, snapshot.table.name)} ` +
    `UNION ALL SELECT ${wanted.map((column) => q(column.name)).join(', ')} FROM ${qualifiedName(table.database, table.name)} WHERE ${q(names.seq)} > ${snapshot.watermark}`
  );
}
