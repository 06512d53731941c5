// A warehouse for `sluice query` tests, written directly (no daemon run): a small changelog table and
// a large unrelated one, in Hive's text format, with the config file that points `sluice query` at it.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TableDefinition } from '../../src/catalog/catalog.ts';
import { LocalCatalog } from '../../src/catalog/local-catalog.ts';
import type { CellValue } from '../../src/core/change-event.ts';
import { LocalFileSystem } from '../../src/filesystem/local-filesystem.ts';
import { encodeRow } from '../../src/sinks/hive-text-codec.ts';
import { writeWholeFile } from './whole-file.ts';

export interface QueryWarehouse {
  configFile: string;
  fs: LocalFileSystem;
  catalog: LocalCatalog;
  small: TableDefinition;
  big: TableDefinition;
}

const COLUMNS = [
  { name: 'id', type: 'bigint' },
  { name: 'amount', type: 'decimal(12,2)' },
  { name: 'note', type: 'string' },
  { name: '_op', type: 'string' },
  { name: '_event_time', type: 'timestamp' },
  { name: '_seq', type: 'bigint' },
];

function table(name: string): TableDefinition {
  return { database: 'ods', name, columns: COLUMNS, partitionColumns: [{ name: 'dt', type: 'string' }], format: 'text', location: `/ods.db/${name}` };
}

async function fill(fs: LocalFileSystem, catalog: LocalCatalog, def: TableDefinition, rows: number, days: number, filesPerDay: number): Promise<void> {
  await catalog.createTable(def);
  const types = def.columns.map((column) => column.type);
  const perFile = Math.ceil(rows / (days * filesPerDay));
  let id = 0;
  for (let day = 1; day <= days; day++) {
    const dt = `2026-12-0${day}`;
    const location = `${def.location}/dt=${dt}`;
    await catalog.addPartition(def.database, def.name, { values: { dt }, location });
    for (let file = 0; file < filesPerDay && id < rows; file++) {
      const lines: Buffer[] = [];
      for (let row = 0; row < perFile && id < rows; row++, id++) {
        const values: CellValue[] = [String(id), `${id}.${String(id % 100).padStart(2, '0')}`, `note ${id} ${'x'.repeat(64)}`, 'insert', `${dt} 10:00:00`, String(id)];
        lines.push(encodeRow(values, types));
      }
      await writeWholeFile(fs, `${location}/0.job.${file}-0`, Buffer.concat(lines));
    }
  }
}

/**
 * ods.small (`smallRows` rows) and ods.big (`bigRows` rows over 2 days of 4 files) under `dir`, and a
 * config whose source password is an unset environment variable and whose user is a missing secret file.
 */
export async function makeQueryWarehouse(dir: string, smallRows: number, bigRows: number): Promise<QueryWarehouse> {
  const fs = new LocalFileSystem(join(dir, 'warehouse'));
  const catalog = new LocalCatalog(join(dir, 'catalog'));
  const small = table('small');
  const big = table('big');
  await fill(fs, catalog, small, smallRows, 1, 1);
  await fill(fs, catalog, big, bigRows, 2, 4);
  const configFile = join(dir, 'sluice.yaml');
  await writeFile(
    configFile,
    [
      'source:',
      '  host: 127.0.0.1',
      '  user: ${file:./no-such-user-file}',
      '  password: ${env:SLUICE_QUERY_TEST_UNSET_PASSWORD}',
      'sink:',
      '  filesystem:',
      '    kind: local',
      '    root: ./warehouse',
      '  catalog:',
      '    kind: local',
      '    dir: ./catalog',
      'checkpoint:',
      '  dir: ./state',
      '',
    ].join('\n'),
  );
  return { configFile, fs, catalog, small, big };
}
