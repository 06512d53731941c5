// Does a table Hive already has fit what sluice would write into it? sluice writes files by position
// into the table's location, in the format and with the SerDe settings it chose; a table that differs
// in any of these would show readers wrong or missing rows. Each misfit is named, and both layouts are
// spelled out so a user can see at a glance what to change.
import type { HiveColumn, TableDefinition } from './catalog.ts';
import { effectiveTextSerdeProperties, storageFormatOf, type DescribedTable } from './hive-describe.ts';
import { normalizeHiveType } from './hive-ddl.ts';
import { fromHiveUri, type FileSystemName } from './hive-location.ts';
import { reconcileHiveType } from './type-evolution.ts';
import { TEXT_SERDE_PROPERTIES } from './hive-text-table.ts';

/** What keeps sluice from writing into a table stored this way, whatever its columns; undefined when nothing. */
export function storageMisfit(table: DescribedTable): string | undefined {
  if (table.tableType === 'VIRTUAL_VIEW' || table.tableType === 'MATERIALIZED_VIEW') return `it is a view (${table.tableType})`;
  if ((table.tableParameters.transactional ?? '').toLowerCase() === 'true') {
    return 'it is a transactional (ACID) table, whose rows Hive reads only from the delta directories it writes itself';
  }
  const format = storageFormatOf(table);
  if (!format) return `it is stored with SerDe ${table.serde || '?'} and input format ${table.inputFormat || '?'}, not as text or Parquet`;
  if (format === 'text') {
    const effective = effectiveTextSerdeProperties(table.storageParameters);
    const differing = Object.entries(TEXT_SERDE_PROPERTIES)
      .filter(([key, value]) => effective[key] !== value)
      .map(([key, value]) => `${key} is ${visible(effective[key])}, not ${visible(value)}`);
    if (differing.length > 0) return `its text SerDe settings differ from the files sluice writes: ${differing.join('; ')}`;
  }
  return undefined;
}

/** Every way `table` (as Hive has it) does not fit `wanted` (as sluice would create it). */
export function layoutMisfits(wanted: TableDefinition, table: DescribedTable, fs: FileSystemName): string[] {
  const misfits: string[] = [];
  const storage = storageMisfit(table);
  if (storage) misfits.push(storage);
  const format = storageFormatOf(table);
  if (format && format !== wanted.format) misfits.push(`it is stored as ${format}, and sluice writes ${wanted.format}`);

  const wantedPartitions = wanted.partitionColumns.map(columnText).join(', ');
  const hivePartitions = table.partitionColumns.map(columnText).join(', ');
  if (wantedPartitions !== hivePartitions) misfits.push(`it is partitioned by (${hivePartitions || 'nothing'}), not (${wantedPartitions})`);

  for (const column of wanted.columns) {
    const existing = table.columns.find((candidate) => candidate.name === column.name.toLowerCase());
    // A column the table lacks is added later (ADD COLUMNS); one it has must be able to hold the values.
    if (existing && reconcileHiveType(normalizeHiveType(existing.type), normalizeHiveType(column.type)).kind === 'incompatible') {
      misfits.push(`its column ${column.name} is ${existing.type}, which cannot hold ${column.type}`);
    }
  }

  let location: string | undefined;
  try {
    location = fromHiveUri(fs, table.location, 'it');
  } catch (error) {
    misfits.push((error as Error).message);
  }
  if (location !== undefined && location !== wanted.location.replace(/\/+$/, '')) {
    misfits.push(`it is at ${table.location}, not at ${wanted.location}, where sluice writes its files`);
  }
  return misfits;
}

export function describeWantedLayout(wanted: TableDefinition, locationUri: string): string {
  const storage = wanted.format === 'text' ? `text (LazySimpleSerDe, ${serdeText(TEXT_SERDE_PROPERTIES)})` : 'Parquet';
  return `(${wanted.columns.map(columnText).join(', ')}) PARTITIONED BY (${wanted.partitionColumns.map(columnText).join(', ')}) ${storage} at ${locationUri}`;
}

export function describeHiveLayout(table: DescribedTable): string {
  const format = storageFormatOf(table);
  const storage =
    format === 'text'
      ? `text (LazySimpleSerDe, ${serdeText(effectiveTextSerdeProperties(table.storageParameters))})`
      : format === 'parquet'
        ? 'Parquet'
        : `SerDe ${table.serde}, input format ${table.inputFormat}`;
  const partitioned = table.partitionColumns.length > 0 ? `PARTITIONED BY (${table.partitionColumns.map(columnText).join(', ')})` : 'not partitioned';
  const kind = table.tableType ? `${table.tableType.toLowerCase()}, ` : '';
  return `(${table.columns.map(columnText).join(', ')}) ${partitioned} ${storage} (${kind}at ${table.location})`;
}

function columnText(column: HiveColumn): string {
  return `${column.name} ${normalizeHiveType(column.type)}`;
}

function serdeText(properties: Readonly<Record<string, string | undefined>>): string {
  return Object.entries(properties)
    .map(([key, value]) => `${key}=${visible(value)}`)
    .join(', ');
}

/** A property value with control characters shown as \xNN, and 'unset' for none. */
function visible(value: string | undefined): string {
  if (value === undefined) return 'unset';
  return `'${value.replace(/[\x00-\x1f\x7f]/g, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`)}'`;
}
