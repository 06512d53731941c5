import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import type { TableDefinition } from '../src/catalog/catalog.ts';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { formatRows, queryWarehouse } from '../src/cli/query.ts';
import type { CellValue } from '../src/core/change-event.ts';
import { isSluiceError } from '../src/core/errors.ts';
import type { FileSystem } from '../src/filesystem/filesystem.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { encodeRow } from '../src/sinks/hive-text-codec.ts';
import { writeWholeFile } from './helpers/whole-file.ts';

let dir: string;
let fs: FileSystem;
let catalog: LocalCatalog;

const ORDERS: TableDefinition = {
  database: 'ods',
  name: 'orders',
  columns: [
    { name: 'id', type: 'decimal(20,0)' },
    { name: 'amount', type: 'decimal(10,2)' },
    { name: 'note', type: 'string' },
    { name: 'payload', type: 'binary' },
    { name: 'ratio', type: 'float' },
    { name: '_op', type: 'string' },
    { name: '_event_time', type: 'timestamp' },
    { name: '_seq', type: 'bigint' },
  ],
  partitionColumns: [{ name: 'dt', type: 'string' }],
  format: 'text',
  location: '/warehouse/ods.db/orders',
};

const writeFile = (path: string, content: Buffer): Promise<void> => writeWholeFile(fs, path, content);

function rows(...values: CellValue[][]): Buffer {
  const types = ORDERS.columns.map((column) => column.type);
  return Buffer.concat(values.map((row) => encodeRow(row, types)));
}

describe('sluice query', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-query-test-'));
    fs = new LocalFileSystem(join(dir, 'fs'));
    catalog = new LocalCatalog(join(dir, 'catalog'));
    await catalog.createTable(ORDERS);
    const day1 = `${ORDERS.location}/dt=2026-11-24`;
    const day2 = `${ORDERS.location}/dt=2026-11-25`;
    await catalog.addPartition('ods', 'orders', { values: { dt: '2026-11-24' }, location: day1 });
    await catalog.addPartition('ods', 'orders', { values: { dt: '2026-11-25' }, location: day2 });
    await writeFile(
      `${day1}/0.job.1-0`,
      rows(
        ['18446744073709551615', '99999999.99', 'tab\there\x01and\nnewline', Buffer.from([0, 255]), '0.1', 'insert', '2026-11-24 23:59:59', '3'],
        ['1', '-0.01', '\\N', null, '3.4028235e+38', 'insert', '2026-11-24 10:00:00', '1'],
      ),
    );
    await writeFile(`${day2}/0.job.2-0`, rows(['2', '0.02', null, Buffer.alloc(0), null, 'delete', '2026-11-25 00:00:00', '9223372036854775807']));
    // Staging, markers and unregistered partitions: Hive sees none of them.
    await writeFile(`${day2}/.data/0.job.3-0`, rows(['666', '6.66', 'staged', null, null, 'insert', '2026-11-25 00:00:01', '10']));
    await writeFile(`${day2}/.0.job.3-1.inprogress`, rows(['667', '6.67', 'hidden', null, null, 'insert', '2026-11-25 00:00:01', '11']));
    await writeFile(`${day2}/_SUCCESS`, Buffer.alloc(0));
    await writeFile(`${ORDERS.location}/dt=2026-11-26/0.job.3-0`, rows(['668', '6.68', 'uncommitted', null, null, 'insert', '2026-11-26 00:00:01', '12']));

    // A table whose partition has no files yet, to be loaded alongside.
    await catalog.createTable({ ...ORDERS, name: 'empty', location: '/warehouse/ods.db/empty' });
    await catalog.addPartition('ods', 'empty', { values: { dt: '2026-11-25' }, location: '/warehouse/ods.db/empty/dt=2026-11-25' });
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('shows the committed rows of a table in _seq order, exactly', async () => {
    const result = await queryWarehouse({ catalog, fs, table: 'ods.orders' });
    assert.deepEqual(result.columns, ['id', 'amount', 'note', 'payload', 'ratio', '_op', '_event_time', '_seq', 'dt']);
    assert.deepEqual(result.rows, [
      ['1', '-0.01', '\\N', null, '3.4028235e+38', 'insert', '2026-11-24 10:00:00', '1', '2026-11-24'],
      ['18446744073709551615', '99999999.99', 'tab\there\x01and\nnewline', '0x00ff', '0.1', 'insert', '2026-11-24 23:59:59', '3', '2026-11-24'],
      ['2', '0.02', null, '0x', null, 'delete', '2026-11-25 00:00:00', '9223372036854775807', '2026-11-25'],
    ]);
  });

  it('applies the limit to the table listing, and leaves SQL to its own LIMIT', async () => {
    const result = await queryWarehouse({ catalog, fs, table: 'ods.orders', limit: 1 });
    assert.equal(result.rows.length, 1);
    assert.equal(result.rows[0]![0], '1');
    const all = await queryWarehouse({ catalog, fs, table: 'ods.orders', sql: 'SELECT id FROM ods.orders', limit: 1 });
    assert.equal(all.rows.length, 3);
  });

  it('runs SQL over every table of the catalog, with exact decimal arithmetic', async () => {
    const result = await queryWarehouse({
      catalog,
      fs,
      sql: 'SELECT dt, count(*) AS n, sum(amount) AS total, max(id) AS top FROM ods.orders GROUP BY dt UNION ALL SELECT dt, count(*), sum(amount), max(id) FROM ods.empty GROUP BY dt ORDER BY dt',
    });
    assert.deepEqual(result.columns, ['dt', 'n', 'total', 'top']);
    assert.deepEqual(result.rows, [
      ['2026-11-24', '2', '99999999.98', '18446744073709551615'],
      ['2026-11-25', '1', '0.02', '2'],
    ]);
  });

  it('names the tables it knows when asked for one it does not', async () => {
    await assert.rejects(
      queryWarehouse({ catalog, fs, table: 'ods.nope' }),
      (error) => isSluiceError(error, 'SLUICE_QUERY') && /ods\.orders/.test(error.message),
    );
  });

  it('reports bad SQL as SLUICE_QUERY', async () => {
    await assert.rejects(queryWarehouse({ catalog, fs, sql: 'SELECT * FROM ods.missing' }), (error) => isSluiceError(error, 'SLUICE_QUERY'));
  });

  it('reads Parquet tables too', async () => {
    const scratch = join(dir, 'scratch.parquet');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(
      `COPY (SELECT 1::BIGINT AS id, 'a'::VARCHAR AS name UNION ALL SELECT 2, NULL) TO '${scratch}' (FORMAT parquet)`,
    );
    connection.closeSync();
    instance.closeSync();
    await catalog.createTable({
      database: 'ods',
      name: 'pq',
      columns: [
        { name: 'id', type: 'bigint' },
        { name: 'name', type: 'string' },
      ],
      partitionColumns: [],
      format: 'parquet',
      location: '/warehouse/ods.db/pq',
    });
    await writeFile('/warehouse/ods.db/pq/0.job.1-0.parquet', await readFile(scratch));
    const result = await queryWarehouse({ catalog, fs, table: 'ods.pq' });
    assert.deepEqual(result.rows, [
      ['1', 'a'],
      ['2', null],
    ]);
  });

  it('prints an aligned table that keeps each row on one line', () => {
    const text = formatRows({
      columns: ['id', 'note'],
      rows: [
        ['1', 'a\nb'],
        ['22', null],
        ['3', '日本'],
      ],
    });
    assert.equal(text, ['id | note', '---+-----', '1  | a\\nb', '22 | NULL', '3  | 日本', '(3 rows)', ''].join('\n'));
  });
});
