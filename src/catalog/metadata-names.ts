// The names of the metadata columns of a changelog table (docs/row-format.md). By default `_op`,
// `_event_time`, `_position`, `_seq`, `_source`; a sink or a routing rule may name them otherwise
// (`metadataColumns` in YAML), since HiveQL wants a leading `_` in backticks. The names a table was
// created with are recorded with it (the local catalog's JSON, the Hive table property
// `sluice.metadata.columns`), so that every reader (the current-state views, the materialization,
// compaction, `sluice query`) finds them from the table alone, never from a configuration that may
// have changed since. Only names other than the defaults are recorded: a table without the record
// has the defaults.
import { DEFAULT_METADATA_NAMES, METADATA_ROLES, type MetadataNames } from '../config/metadata-columns.ts';
import type { TableDefinition } from './catalog.ts';

export { DEFAULT_METADATA_NAMES, METADATA_ROLES, type MetadataNames } from '../config/metadata-columns.ts';

/** The table's metadata column names: what it records, else the defaults. */
export function metadataNamesOf(table: Pick<TableDefinition, 'metadataNames'>): MetadataNames {
  return table.metadataNames ?? DEFAULT_METADATA_NAMES;
}

export function isDefaultNames(names: MetadataNames): boolean {
  return METADATA_ROLES.every((role) => names[role] === DEFAULT_METADATA_NAMES[role]);
}

/** The five names as a set: a reader's test of "is this a metadata column". */
export function metadataNameSet(names: MetadataNames): Set<string> {
  return new Set(METADATA_ROLES.map((role) => names[role]));
}

/** The Hive table property that records names other than the defaults: `op=change_op,seq=change_seq,...`. */
export const METADATA_NAMES_PROPERTY = 'sluice.metadata.columns';

export function metadataNamesProperty(names: MetadataNames): string {
  return METADATA_ROLES.map((role) => `${role}=${names[role]}`).join(',');
}

/** The names a table property records; undefined when it records none (or nothing readable). */
export function metadataNamesFromProperty(value: string | undefined): MetadataNames | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const pairs = new Map(value.split(',').map((pair) => pair.split('=').map((part) => part.trim()) as [string, string | undefined]));
  const names = { ...DEFAULT_METADATA_NAMES };
  for (const role of METADATA_ROLES) {
    const name = pairs.get(role);
    if (name) names[role] = name.toLowerCase();
  }
  return isDefaultNames(names) ? undefined : names;
}
