// The layout of a changelog table in Hive: the source's columns, then what sluice adds to every row
// so that a reader can tell what happened, when, where in the binlog, and in which order.
import type { HiveColumn } from '../catalog/catalog.ts';
import { DEFAULT_METADATA_NAMES, METADATA_ROLES, type MetadataNames } from '../catalog/metadata-names.ts';

export const METADATA_COLUMNS: readonly HiveColumn[] = [
  /**
   * 'insert', 'update' or 'delete'. An update row carries the image after the change, a delete the image before.
   * 'read' is a row the snapshot read from the table (docs/snapshot.md): its state at that point of the stream.
   * 'truncate' marks that every earlier row of its `_source` is gone (TRUNCATE or DROP TABLE); its source columns are NULL.
   */
  { name: '_op', type: 'string' },
  /** When the server wrote the change (binlog event header), UTC, whole seconds. */
  { name: '_event_time', type: 'timestamp' },
  /** The transaction's GTID, or binlog file:offset where the server has no GTIDs. */
  { name: '_position', type: 'string' },
  /** Orders the changes of one key: larger is later. */
  { name: '_seq', type: 'bigint' },
  /** The source 'db.table' the row came from (several shards may feed one table). */
  { name: '_source', type: 'string' },
];

/** The metadata columns under the names a table has (catalog/metadata-names.ts); METADATA_COLUMNS under the defaults. */
export function metadataColumns(names: MetadataNames = DEFAULT_METADATA_NAMES): HiveColumn[] {
  return METADATA_ROLES.map((role, index) => ({ name: names[role], type: METADATA_COLUMNS[index]!.type }));
}

export type PartitionGranularity = 'day' | 'hour';

/** How a changelog table is partitioned: by the UTC day of each change, or by day and hour. */
export interface PartitionScheme {
  granularity: PartitionGranularity;
  /** Name of the day column ('dt'); configurable because a source table may have a 'dt' of its own. */
  dayColumn: string;
  hourColumn: string;
}

export function partitionColumns(scheme: PartitionScheme): HiveColumn[] {
  const day = { name: scheme.dayColumn, type: 'string' };
  return scheme.granularity === 'day' ? [day] : [day, { name: scheme.hourColumn, type: 'string' }];
}

/** Partition values for a change, from its UTC timestamp: never from the process time zone. */
export function partitionValues(commitTs: number, scheme: PartitionScheme): Record<string, string> {
  const iso = new Date(commitTs * 1000).toISOString();
  const values: Record<string, string> = { [scheme.dayColumn]: iso.slice(0, 10) };
  if (scheme.granularity === 'hour') values[scheme.hourColumn] = iso.slice(11, 13);
  return values;
}

export function partitionPath(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([key, value]) => `${key}=${value}`)
    .join('/');
}

export function formatEventTime(commitTs: number): string {
  return new Date(commitTs * 1000).toISOString().slice(0, 19).replace('T', ' ');
}
