// Column types read back from an existing target table, for messages that state none and topics
// with no `columns` list: each Hive type as the MySQL type that maps to it (catalog/type-mapping.ts),
// so that a value is checked against what the table can hold.
import type { HiveColumn } from '../../catalog/catalog.ts';

/** The source columns of a changelog table as MySQL types; undefined when one has a Hive type with no such MySQL type. */
export function mysqlTypesOfHiveColumns(columns: readonly HiveColumn[]): Map<string, string> | undefined {
  const types = new Map<string, string>();
  for (const column of columns) {
    const type = mysqlTypeOfHive(column.type.toLowerCase());
    if (!type) return undefined;
    types.set(column.name, type);
  }
  return types;
}

function mysqlTypeOfHive(hive: string): string | undefined {
  if (['tinyint', 'smallint', 'int', 'bigint', 'float', 'double', 'date'].includes(hive)) return hive;
  if (/^decimal\(\d+,\d+\)$/.test(hive)) return hive;
  if (hive === 'string' || /^(var)?char\(\d+\)$/.test(hive)) return 'longtext';
  if (hive === 'binary') return 'longblob';
  if (hive === 'boolean') return 'tinyint(1)';
  if (hive === 'timestamp') return 'datetime(6)';
  return undefined;
}
