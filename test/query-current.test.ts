// `sluice query --current db.t --key …` and `db.t_current` in `--sql`: the current state of a changelog
// table, per key and `_source`, from inserts, updates, deletes, snapshot reads and truncate markers,
// wherever in the files the changes lie (src/cli/query-current.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TableDefinition } from '../src/catalog/catalog.ts';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { queryWarehouse } from '../src/cli/query.ts';
import type { CellValue } from '../src/core/change-event.ts';
import { isSluiceError } from '../src/core/errors.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { METADATA_COLUMNS } from '../src/sinks/changelog-layout.ts';
import { encodeRow } from '../src/sinks/hive-text-codec.ts';
import { REPO_ROOT } from './helpers/servers.ts';
import { writeWholeFile } from './helpers/whole-file.ts';

const ORDERS: TableDefinition = {
  database: 'ods',
  name: 'orders',
  columns: [{ name: 'id', type: 'bigint' }, { name: 'amount', type: 'decimal(10,2)' }, { name: 'note', type: 'string' }, ...METADATA_COLUMNS],
  partitionColumns: [{ name: 'dt', type: 'string' }],
  format: 'text',
  location: '/ods.db/orders',
};

const KEYED: TableDefinition = { ...ORDERS, name: 'keyed', location: '/ods.db/keyed', primaryKey: ['id'] };

const A = 'shop.orders_a';
const B = 'shop.orders_b';

// id, amount, note, _op, _seq, _source
type Change = [string | null, string | null, string | null, string, number, string];

// Day 1's file holds later changes than day 2's for some keys: the order is _seq's, not the files'.
const DAY1: Change[] = [
  ['1', '1.00', 'a1', 'insert', 1, A],
  ['2', '2.00', 'a2', 'insert', 2, A],
  ['1', '10.00', 'b1', 'insert', 3, B], // the same id from another source is another row
  ['1', '1.50', 'a1 updated', 'update', 4, A],
  ['2', '2.00', 'a2', 'delete', 5, A],
  ['6', '6.00', 'b6', 'insert', 6, B],
  ['5', '5.50', 'a5 updated', 'update', 14, A],
];
const DAY2: Change[] = [
  ['3', '3.00', 'a3', 'insert', 7, A],
  ['6', '6.60', 'b6 updated', 'update', 8, B],
  [null, null, null, 'truncate', 9, B], // B's rows so far are gone, A's stay
  ['4', '40.00', 'b4', 'insert', 10, B],
  ['3', '3.00', 'a3', 'delete', 11, A],
  ['3', '3.30', 'a3 again', 'insert', 12, A],
  ['5', '5.00', 'a5', 'read', 13, A],
  ['4', '4.00', 'a4', 'insert', 15, A],
];

// id, amount, note: the source columns only.
const EXPECTED = [
  ['1', '1.50', 'a1 updated'],
  ['3', '3.30', 'a3 again'],
  ['4', '4.00', 'a4'],
  ['4', '40.00', 'b4'],
  ['5', '5.50', 'a5 updated'],
];

let dir: string;
let fs: LocalFileSystem;
let catalog: LocalCatalog;
let configFile: string;

function file(changes: Change[], dt: string): Buffer {
  const types = ORDERS.columns.map((column) => column.type);
  return Buffer.concat(
    changes.map(([id, amount, note, op, seq, source]) => {
      const values: CellValue[] = [id, amount, note, op, `${dt} 10:00:00`, `0-1-${seq}`, String(seq), source];
      return encodeRow(values, types);
    }),
  );
}

const sorted = (rows: (string | null)[][]): (string | null)[][] => [...rows].sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1));

describe('sluice query: current-state views', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-query-current-'));
    fs = new LocalFileSystem(join(dir, 'warehouse'));
    catalog = new LocalCatalog(join(dir, 'catalog'));
    await catalog.createTable(ORDERS);
    for (const [dt, changes] of [
      ['2026-12-01', DAY1],
      ['2026-12-02', DAY2],
    ] as const) {
      const location = `${ORDERS.location}/dt=${dt}`;
      await catalog.addPartition('ods', 'orders', { values: { dt }, location });
      await writeWholeFile(fs, `${location}/0.job.1-0`, file(changes, dt));
    }
    // The same changes in a table whose catalog entry records the primary key, as sluice records it when it creates a table.
    await catalog.createTable(KEYED);
    for (const [dt, changes] of [
      ['2026-12-01', DAY1],
      ['2026-12-02', DAY2],
    ] as const) {
      const location = `${KEYED.location}/dt=${dt}`;
      await catalog.addPartition('ods', 'keyed', { values: { dt }, location });
      await writeWholeFile(fs, `${location}/0.job.1-0`, file(changes, dt));
    }
    // Not a changelog table: no _op, no _seq.
    await catalog.createTable({ database: 'ods', name: 'plain', columns: [{ name: 'id', type: 'int' }], partitionColumns: [], format: 'text', location: '/ods.db/plain' });
    configFile = join(dir, 'sluice.yaml');
    await writeFile(
      configFile,
      ['source:', '  host: 127.0.0.1', '  user: nobody', 'sink:', '  filesystem:', '    kind: local', '    root: ./warehouse', '  catalog:', '    kind: local', '    dir: ./catalog', 'checkpoint:', '  dir: ./state', ''].join('\n'),
    );
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('--current gives per key and _source the latest row, unless deleted or truncated, without metadata columns', async () => {
    const result = await queryWarehouse({ catalog, fs, current: 'ods.orders', key: ['id'] });
    assert.deepEqual(result.columns, ['id', 'amount', 'note']);
    assert.deepEqual(sorted(result.rows), EXPECTED);
  });

  it('names the view db.t_current in --sql, next to the table itself', async () => {
    const result = await queryWarehouse({
      catalog,
      fs,
      key: ['id'],
      sql: 'SELECT c.id, c.note, (SELECT count(*) FROM ods.orders o WHERE o.id = c.id) AS changes FROM ods.orders_current c ORDER BY c.id, c.note',
    });
    assert.deepEqual(result.rows, [
      ['1', 'a1 updated', '3'],
      ['3', 'a3 again', '3'],
      ['4', 'a4', '2'],
      ['4', 'b4', '2'],
      ['5', 'a5 updated', '2'],
    ]);
  });

  it('refuses without a key, with an unknown key column, and for a table that is not a changelog', async () => {
    await assert.rejects(queryWarehouse({ catalog, fs, current: 'ods.orders' }), (error) => isSluiceError(error, 'SLUICE_QUERY') && /--key/.test(error.message));
    await assert.rejects(
      queryWarehouse({ catalog, fs, sql: 'SELECT * FROM ods.orders_current' }),
      (error) => isSluiceError(error, 'SLUICE_QUERY') && /primary key of ods\.orders/.test(error.message),
    );
    await assert.rejects(
      queryWarehouse({ catalog, fs, current: 'ods.orders', key: ['_seq'] }),
      (error) => isSluiceError(error, 'SLUICE_QUERY') && /_seq, not a source column/.test(error.message),
    );
    await assert.rejects(
      queryWarehouse({ catalog, fs, current: 'ods.plain', key: ['id'] }),
      (error) => isSluiceError(error, 'SLUICE_QUERY') && /not a changelog table/.test(error.message),
    );
    // A query that does not name a current view needs no key.
    assert.deepEqual((await queryWarehouse({ catalog, fs, sql: 'SELECT count(*) FROM ods.orders' })).rows, [['15']]);
  });

  it('uses the primary key the catalog records when no --key is given; --key overrides it', async () => {
    const result = await queryWarehouse({ catalog, fs, current: 'ods.keyed' });
    assert.deepEqual(result.columns, ['id', 'amount', 'note']);
    assert.deepEqual(sorted(result.rows), EXPECTED);
    assert.deepEqual(sorted((await queryWarehouse({ catalog, fs, sql: 'SELECT * FROM ods.keyed_current' })).rows), EXPECTED);
    // Keyed by note instead: 'a3' was inserted, deleted (its own group's latest is the delete), so it is gone; 'a3 again' stays.
    const byNote = await queryWarehouse({ catalog, fs, current: 'ods.keyed', key: ['note'] });
    assert.deepEqual(
      byNote.rows.map((row) => row[2]),
      ['a1', 'a1 updated', 'a3 again', 'a4', 'a5', 'a5 updated', 'b4'],
    );
  });

  /** `sluice query --json --current ...` run from the command line: (id, amount, note) per row, in its order. */
  function currentFromCli(...args: string[]): string[][] {
    const run = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'query', '--config', configFile, '--json', '--current', ...args], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 0, run.stderr);
    return run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, string>)
      .map((row) => [row.id!, row.amount!, row.note!]);
  }

  it('answers sluice query --current without --key from the command line, by the recorded key', () => {
    const rows = currentFromCli('ods.keyed');
    assert.deepEqual(rows.map((row) => row[0]), ['1', '3', '4', '4', '5'], 'ordered by the recorded key');
    assert.deepEqual(sorted(rows), EXPECTED);
  });

  it('answers sluice query --current --key from the command line', () => {
    assert.deepEqual(sorted(currentFromCli('ods.orders', '--key', 'id')), EXPECTED);
  });
});
