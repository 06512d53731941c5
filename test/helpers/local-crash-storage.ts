// The crash scenario's storage on the embedded default (local disk and the local catalog), in text
// or Parquet: the sink keys, how the committed rows are read back, and the stopped table's fix.
import { LocalCatalog } from '../../src/catalog/local-catalog.ts';
import { queryWarehouse } from '../../src/cli/query.ts';
import { LocalFileSystem } from '../../src/filesystem/local-filesystem.ts';
import type { CrashScenario } from './crash-scenario.ts';
import { LOCAL_STORAGE_YAML } from './daemon-config.ts';
import type { DaemonWorkspace } from './daemon.ts';
import { readCommittedRows, type TableRow } from './warehouse.ts';

export type CrashFormat = 'text' | 'parquet';

export function localCrashStorage(format: CrashFormat): Pick<CrashScenario, 'storage' | 'readRows' | 'fixHiveColumn' | 'stagedBytesAtSigterm'> {
  const catalog = (workspace: DaemonWorkspace) => new LocalCatalog(workspace.catalogDir);
  const files = (workspace: DaemonWorkspace) => new LocalFileSystem(workspace.warehouse);
  if (format === 'text') {
    return {
      readRows: (workspace, database, table) => readCommittedRows(catalog(workspace), files(workspace), database, table),
      fixHiveColumn: (workspace, database, table, column, type) => catalog(workspace).changeColumnType(database, table, column, type),
    };
  }
  // No fix of the stopped table in Parquet: its old files keep their DECIMAL column, which a string
  // column would not read in Hive (see crash-hive.test.ts); that fix is not one to promise.
  return {
    storage: async () => `${LOCAL_STORAGE_YAML}\n  format: parquet`,
    // The first row group of the large transaction, compressed (see CrashScenario.stagedBytesAtSigterm).
    stagedBytesAtSigterm: 256 * 1024,
    readRows: (workspace, database, table) => readParquetRows(catalog(workspace), files(workspace), database, table),
  };
}

/**
 * The committed rows of a Parquet table as `sluice query` reads them (DuckDB over the visible files of
 * the catalog's partitions), in the text reader's forms: bytes as bytes, and timestamps with all six
 * fraction digits (DuckDB drops trailing zeros; DATETIME(6) has six, and any nanoseconds show).
 */
async function readParquetRows(catalog: LocalCatalog, fs: LocalFileSystem, database: string, table: string): Promise<TableRow[]> {
  const definition = await catalog.getTable(database, table);
  if (!definition) throw new Error(`table ${database}.${table} is not in ${catalog.description}`);
  const types = new Map(definition.columns.map((column) => [column.name, column.type.toLowerCase()]));
  const result = await queryWarehouse({ catalog, fs, table: `${database}.${table}`, sql: `SELECT * FROM "${database}"."${table}"` });
  return result.rows.map((values) => {
    const row: TableRow = {};
    result.columns.forEach((name, index) => {
      const value = values[index] ?? null;
      const type = types.get(name);
      row[name] =
        value === null ? null : type === 'binary' ? Buffer.from(value.replace(/^0x/, ''), 'hex') : type === 'timestamp' ? sixFractionDigits(value) : value;
    });
    return row;
  });
}

function sixFractionDigits(timestamp: string): string {
  const [seconds, fraction = ''] = timestamp.split('.');
  return `${seconds}.${fraction.padEnd(6, '0')}`;
}
