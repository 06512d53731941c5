// Where a materialized snapshot lives and what its location says (src/sinks/materialize.ts): the
// snapshot of `t` is the table `t<suffix>`, each generation a directory `<t's location><suffix>/g-<watermark>-<id>`,
// so one catalog update moves the rows and the watermark together. Here, below the sinks, because the
// Hive view reads the watermark too.
import type { TableDefinition } from './catalog.ts';

export const DEFAULT_SNAPSHOT_SUFFIX = '_snapshot';

const GENERATION = /\/g-(\d+)-[^/]+$/;

export function snapshotTableName(table: Pick<TableDefinition, 'name'>, suffix: string): string {
  return `${table.name}${suffix}`;
}

/** Where the generations of a table's snapshot live. */
export function snapshotRoot(table: Pick<TableDefinition, 'location'>, suffix: string): string {
  return `${table.location}${suffix}`;
}

export function generationLocation(root: string, watermark: bigint, id: string): string {
  return `${root}/g-${watermark}-${id}`;
}

/** The highest `_seq` a snapshot table holds the fold of; undefined for a table sluice did not materialize. */
export function snapshotWatermark(snapshot: Pick<TableDefinition, 'location'>): bigint | undefined {
  const match = GENERATION.exec(snapshot.location);
  return match ? BigInt(match[1]!) : undefined;
}

