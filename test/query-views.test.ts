// `sluice query` reads only the tables its SQL names, and needs no MySQL password: the tables are
// DuckDB views over their committed files (src/sinks/warehouse-views.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { queryWarehouse } from '../src/cli/query.ts';
import { loadConfig } from '../src/config/load.ts';
import { isSluiceError } from '../src/core/errors.ts';
import type { FileSystem } from '../src/filesystem/filesystem.ts';
import { encodeRow } from '../src/sinks/hive-text-codec.ts';
import { makeQueryWarehouse, type QueryWarehouse } from './helpers/query-warehouse.ts';
import { REPO_ROOT } from './helpers/servers.ts';
import { writeWholeFile } from './helpers/whole-file.ts';

const BIG_ROWS = 300_000;
let dir: string;
let warehouse: QueryWarehouse;

describe('sluice query over views', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-query-views-'));
    warehouse = await makeQueryWarehouse(dir, 10, BIG_ROWS);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('opens only the files of the table the SQL names, with a large unrelated table present', async () => {
    const { fs, catalog } = warehouse;
    // Every path sluice itself lists or reads, besides what DuckDB opens.
    const touched: string[] = [];
    const recording = new Proxy(fs, {
      get(target, key, receiver) {
        const value: unknown = Reflect.get(target, key, receiver);
        if ((key === 'list' || key === 'readFile' || key === 'status') && typeof value === 'function') {
          return (path: string) => (touched.push(path), value.call(target, path));
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const result = await queryWarehouse({ catalog, fs: recording, sql: 'SELECT count(*) AS n, sum(amount) AS total FROM ods.small', traceFiles: true });
    assert.deepEqual(touched.filter((path) => path.startsWith('/ods.db/big')), []);
    assert.deepEqual(result.rows, [['10', '45.45']]);
    const opened = result.filesOpened ?? [];
    assert.ok(opened.length > 0 && opened.every((path) => path.startsWith(fs.localPath('/ods.db/small/'))), `opened: ${opened.join(', ')}`);

    // The trace does see the big table when a query reads it: every one of its 8 files.
    const big = await queryWarehouse({ catalog, fs, sql: 'SELECT count(*) FROM ods.big', traceFiles: true });
    assert.deepEqual(big.rows, [[String(BIG_ROWS)]]);
    assert.equal(big.filesOpened?.filter((path) => path.startsWith(fs.localPath('/ods.db/big/'))).length, 8);
  });

  it('reads a FileSystem DuckDB cannot open (HDFS) through copies of the named table\'s files', async () => {
    const { fs, catalog } = warehouse;
    // Not a LocalFileSystem, as WebHDFS is not: the files come through readFile.
    const read: string[] = [];
    const remote: FileSystem = {
      description: 'remote',
      create: (path) => fs.create(path),
      readFile: (path) => (read.push(path), fs.readFile(path)),
      mkdirs: (path) => fs.mkdirs(path),
      rename: (from, to) => fs.rename(from, to),
      delete: (path, recursive) => fs.delete(path, recursive),
      status: (path) => fs.status(path),
      list: (path) => fs.list(path),
    };
    const result = await queryWarehouse({ catalog, fs: remote, sql: 'SELECT count(*), sum(amount), min(note) FROM ods.small' });
    assert.deepEqual(result.rows, [['10', '45.45', `note 0 ${'x'.repeat(64)}`]]);
    assert.deepEqual(read, ['/ods.db/small/dt=2026-12-01/0.job.0-0']);
  });

  it('queries from the command line although the source password and user secrets are missing', async () => {
    const env = { ...process.env };
    delete env.SLUICE_QUERY_TEST_UNSET_PASSWORD;
    const run = spawnSync(
      process.execPath,
      [join(REPO_ROOT, 'bin/sluice.js'), 'query', '--config', warehouse.configFile, '--json', '--sql', 'SELECT count(*) AS n, max(_seq) AS last FROM ods.small'],
      { encoding: 'utf8', timeout: 60_000, env },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.stdout.trim().split('\n').map((line) => JSON.parse(line)), [{ n: '10', last: '9' }]);
    // The daemon's reading of the same config still refuses the missing secrets.
    await assert.rejects(loadConfig(warehouse.configFile, env), (error) => isSluiceError(error, 'SLUICE_CONFIG_INVALID') && /SLUICE_QUERY_TEST_UNSET_PASSWORD/.test(error.message));
  });

  it('reads rows written before an ADD COLUMNS with the new columns NULL, and escaped values exactly', async () => {
    const { fs, catalog } = warehouse;
    await catalog.createTable({
      database: 'ods',
      name: 'widened',
      columns: [
        { name: 'id', type: 'int' },
        { name: 'note', type: 'string' },
        { name: 'added', type: 'decimal(5,1)' },
      ],
      partitionColumns: [],
      format: 'text',
      location: '/ods.db/widened',
    });
    const old = encodeRow(['1', 'a\x01b\\N\r\n\\'], ['int', 'string']);
    const now = encodeRow(['2', '\\N', '1234.5'], ['int', 'string', 'decimal(5,1)']);
    await writeWholeFile(fs, '/ods.db/widened/0.job.1-0', Buffer.concat([old, now]));
    const result = await queryWarehouse({ catalog, fs, sql: 'SELECT * FROM ods.widened ORDER BY id' });
    assert.deepEqual(result.rows, [
      ['1', 'a\x01b\\N\r\n\\', null],
      ['2', '\\N', '1234.5'],
    ]);
  });
});
