// The schema-change policies (capture.tables[].schemaChanges, docs/configuration.md#schema-changes),
// one table per policy and DDL kind, through the daemon on the real MariaDB: a row before the
// statement, the statement, a row after it; then what the Hive table has and whether it stopped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { METADATA_COLUMNS } from '../src/sinks/changelog-layout.ts';
import { until } from './helpers/daemon.ts';
import { checkpointAtEnd, withCapture } from './helpers/stopped-changes.ts';
import { bySequence, readCommittedRows } from './helpers/warehouse.ts';

const POLICIES = { e: 'evolve', l: 'lenient', i: 'ignore', x: 'exception' } as const;

/** Each DDL kind: the statement, and the row written after it. */
const KINDS = {
  add: ['ADD COLUMN a INT', "(id, v, n, a) VALUES (2, 'b', 2, 7)"],
  drop: ['DROP COLUMN n', "(id, v) VALUES (2, 'b')"],
  widen: ['MODIFY n BIGINT', "VALUES (2, 'b', 9000000000)"],
  binary: ['MODIFY v VARBINARY(20)', "VALUES (2, 'b', 2)"],
  rename: ['RENAME COLUMN n TO m', "VALUES (2, 'b', 5)"],
  // No schema change: its marker is written under every policy.
  truncate: ['TRUNCATE', "VALUES (2, 'b', 2)"],
} as const;

type Outcome = { columns: string; rows: string[] } | 'stopped';

const before = ['insert id=1 v=a n=1'];
const truncated: Outcome = { columns: 'id int, v string, n int', rows: [...before, 'truncate id=NULL v=NULL n=NULL', 'insert id=2 v=b n=2'] };
const EXPECTED: Record<keyof typeof POLICIES, Record<keyof typeof KINDS, Outcome>> = {
  e: {
    add: { columns: 'id int, v string, n int, a int', rows: ['insert id=1 v=a n=1 a=NULL', 'insert id=2 v=b n=2 a=7'] },
    drop: { columns: 'id int, v string, n int', rows: [...before, 'insert id=2 v=b n=NULL'] },
    widen: { columns: 'id int, v string, n bigint', rows: [...before, 'insert id=2 v=b n=9000000000'] },
    binary: 'stopped',
    rename: { columns: 'id int, v string, n int, m int', rows: ['insert id=1 v=a n=1 m=NULL', 'insert id=2 v=b n=NULL m=5'] },
    truncate: truncated,
  },
  l: {
    add: { columns: 'id int, v string, n int, a int', rows: ['insert id=1 v=a n=1 a=NULL', 'insert id=2 v=b n=2 a=7'] },
    drop: { columns: 'id int, v string, n int', rows: [...before, 'insert id=2 v=b n=NULL'] },
    widen: { columns: 'id int, v string, n bigint', rows: [...before, 'insert id=2 v=b n=9000000000'] },
    // VARBINARY cannot go into the STRING column: its values go into a column of their own.
    binary: { columns: 'id int, v string, n int, v_binary binary', rows: ['insert id=1 v=a n=1 v_binary=NULL', 'insert id=2 v=NULL n=2 v_binary=0x62'] },
    rename: { columns: 'id int, v string, n int, m int', rows: ['insert id=1 v=a n=1 m=NULL', 'insert id=2 v=b n=NULL m=5'] },
    truncate: truncated,
  },
  i: {
    add: { columns: 'id int, v string, n int', rows: [...before, 'insert id=2 v=b n=2'] },
    drop: { columns: 'id int, v string, n int', rows: [...before, 'insert id=2 v=b n=NULL'] },
    widen: { columns: 'id int, v string, n bigint', rows: [...before, 'insert id=2 v=b n=9000000000'] },
    binary: 'stopped',
    rename: { columns: 'id int, v string, n int', rows: [...before, 'insert id=2 v=b n=NULL'] },
    truncate: truncated,
  },
  x: { add: 'stopped', drop: 'stopped', widen: 'stopped', binary: 'stopped', rename: 'stopped', truncate: truncated },
};

test('schema-change policies: evolve, lenient, ignore and exception, for ADD COLUMN, DROP COLUMN, a widened type, one Hive cannot widen and RENAME COLUMN', { timeout: 120_000 }, async () => {
  const tables = Object.keys(POLICIES).flatMap((policy) => Object.keys(KINDS).map((kind) => `${policy}_${kind}`));
  const setup = (tag: string) => tables.map((table) => `CREATE TABLE ${tag}.${table} (id INT PRIMARY KEY, v VARCHAR(20), n INT)`).join('; ');
  const capture = (tag: string) =>
    `capture:\n  tables:\n${Object.entries(POLICIES).map(([prefix, policy]) => `    - match: '${tag}.${prefix}_*'\n      schemaChanges: ${policy}\n`).join('')}`;
  await withCapture('policy', setup, async ({ server, db, tag, workspace, daemon }) => {
    for (const table of tables) await db.query(`INSERT INTO ${tag}.${table} VALUES (1, 'a', 1)`);
    for (const table of tables) {
      const [statement, row] = KINDS[table.slice(2) as keyof typeof KINDS];
      await db.query(statement === 'TRUNCATE' ? `TRUNCATE TABLE ${tag}.${table}` : `ALTER TABLE ${tag}.${table} ${statement}`);
      await db.query(`INSERT INTO ${tag}.${table} ${row}`);
    }
    const record = await checkpointAtEnd(workspace, daemon, server);
    const stopped = record.tables?.stopped ?? {};
    const fs = new LocalFileSystem(workspace.warehouse);
    const metadata = new Set(METADATA_COLUMNS.map((column) => column.name));
    for (const table of tables) {
      const expected = EXPECTED[table[0] as keyof typeof POLICIES][table.slice(2) as keyof typeof KINDS];
      const entry = stopped[`${tag}.${table}`];
      if (expected === 'stopped') {
        assert.equal(entry?.code, 'SLUICE_SCHEMA_UNSUPPORTED', `${table} stops`);
        if (table.startsWith('x_')) assert.match(entry.message, /changed its columns at binlog position .*schema-change policy is exception/, table);
        continue;
      }
      assert.equal(entry, undefined, `${table} goes on: ${entry?.message}`);
      // The record lands before its files are renamed into place: wait for them.
      const committed = await until(`${table}'s rows`, daemon, async () => {
        // A fresh catalog each time: one instance keeps what it read of the catalog's files.
        const found = await readCommittedRows(new LocalCatalog(workspace.catalogDir), fs, tag, table);
        return found.length >= expected.rows.length ? found : undefined;
      });
      const definition = (await new LocalCatalog(workspace.catalogDir).getTable(tag, table))!;
      const columns = definition.columns.filter((column) => !metadata.has(column.name));
      assert.equal(columns.map((column) => `${column.name} ${column.type}`).join(', '), expected.columns, table);
      const rows = bySequence(committed).map(
        (row) => `${String(row._op)} ${columns.map(({ name }) => `${name}=${row[name] === null ? 'NULL' : Buffer.isBuffer(row[name]) ? `0x${row[name].toString('hex')}` : String(row[name])}`).join(' ')}`,
      );
      assert.deepEqual(rows, expected.rows, table);
    }
    assert.equal(daemon.child.exitCode, null, 'the other tables go on');
  }, { extra: capture });
});
