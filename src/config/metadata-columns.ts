// The metadata columns sluice adds to every changelog row (docs/row-format.md), by role, and the
// names they get: by default `_op`, `_event_time`, `_position`, `_seq`, `_source`, or what
// `sink.metadataColumns` and a routing rule's `metadataColumns` say (the rule's win, role by role).
export interface MetadataNames {
  op: string;
  eventTime: string;
  position: string;
  seq: string;
  source: string;
}

export type MetadataRole = keyof MetadataNames;

/** The roles in the order the columns stand in a changelog table. */
export const METADATA_ROLES: readonly MetadataRole[] = ['op', 'eventTime', 'position', 'seq', 'source'];

export const DEFAULT_METADATA_NAMES: Readonly<MetadataNames> = Object.freeze({ op: '_op', eventTime: '_event_time', position: '_position', seq: '_seq', source: '_source' });

/** The names a rule's tables get: the rule's, else the sink's, else the defaults. */
export function resolveMetadataNames(sink: Partial<MetadataNames> | undefined, rule?: Partial<MetadataNames>): MetadataNames {
  const names = { ...DEFAULT_METADATA_NAMES };
  for (const role of METADATA_ROLES) names[role] = rule?.[role] ?? sink?.[role] ?? names[role];
  return names;
}

/**
 * HiveQL's reserved words (Hive 3/4, hive.support.sql11.reserved.keywords): a column of such a name
 * needs backticks, which is what renaming the metadata columns is meant to spare.
 */
export const HIVE_RESERVED_WORDS: ReadonlySet<string> = new Set(
  (
    'all alter and any array as authorization between bigint binary boolean both by cache case cast char column commit conf constraint ' +
    'create cross cube current current_date current_timestamp cursor database date dayofweek decimal delete describe distinct double drop ' +
    'else end exchange exists extended external extract false fetch float floor following for foreign from full function grant group ' +
    'grouping having if import in inner insert int integer intersect interval into is join lateral left less like local macro map more ' +
    'none not null numeric of on only or order out outer over partialscan partition percent preceding precision preserve primary ' +
    'procedure range reads reduce references regexp revoke right rlike rollback rollup row rows select set smallint start sync table ' +
    'tablesample then time timestamp to transform trigger true truncate unbounded union uniquejoin update user using utc_tmestamp ' +
    'values varchar views when where window with'
  ).split(' '),
);
