// Reads back what a table holds as a reader of the warehouse would: the partitions the catalog
// lists, the visible files in each (names starting with '.' or '_' are invisible to Hive), every row.
import type { Catalog } from '../../src/catalog/catalog.ts';
import type { CellValue } from '../../src/core/change-event.ts';
import type { FileSystem } from '../../src/filesystem/filesystem.ts';
import { decodeLine } from '../../src/sinks/hive-text-codec.ts';

export type TableRow = Record<string, CellValue>;

export async function readCommittedRows(catalog: Catalog, fs: FileSystem, database: string, table: string): Promise<TableRow[]> {
  const definition = await catalog.getTable(database, table);
  if (!definition) throw new Error(`table ${database}.${table} is not in ${catalog.description}`);
  const types = definition.columns.map((column) => column.type);
  const rows: TableRow[] = [];
  for (const partition of await catalog.listPartitions(database, table)) {
    for (const file of await fs.list(partition.location)) {
      const name = file.path.slice(file.path.lastIndexOf('/') + 1);
      if (file.type !== 'file' || name.startsWith('.') || name.startsWith('_')) continue;
      const content = await fs.readFile(file.path);
      let start = 0;
      for (let end = content.indexOf(0x0a); end !== -1; end = content.indexOf(0x0a, start)) {
        const values = decodeLine(content.subarray(start, end), types);
        const row: TableRow = {};
        definition.columns.forEach((column, index) => (row[column.name] = values[index] ?? null));
        Object.assign(row, partition.values);
        rows.push(row);
        start = end + 1;
      }
    }
  }
  return rows;
}

export function bySequence(rows: TableRow[]): TableRow[] {
  return [...rows].sort((a, b) => {
    const left = BigInt(String(a._seq));
    const right = BigInt(String(b._seq));
    return left < right ? -1 : left > right ? 1 : 0;
  });
}
