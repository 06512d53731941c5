// One schema-change scenario run against any MariaDB: schema-change.test.ts runs it under FULL row
// metadata (the TableMap names the columns), minimal-metadata.test.ts under MINIMAL (sluice works
// the names out from information_schema and its schema history); the outcome must be the same.
import assert from 'node:assert/strict';
import { LocalCatalog } from '../../src/catalog/local-catalog.ts';
import { LocalFileSystem } from '../../src/filesystem/local-filesystem.ts';
import type { MariaDbServer } from '../servers/mariadb.ts';
import { type DaemonWorkspace, gtidBinlogPos, makeWorkspace, waitForCheckpoint, withDaemon } from './daemon.ts';
import { bySequence, readCommittedRows } from './warehouse.ts';

/**
 * ADD COLUMN at the end and in the middle, then DROP COLUMN, while the daemon runs: the Hive table
 * gains the new columns at its end, keeps the dropped one (NULL from then on), and no value lands in
 * the wrong column.
 */
export async function addAndDropColumnsMidStream(server: MariaDbServer): Promise<void> {
  const db = await server.rootConnection();
  const tag = `s${Date.now() % 1_000_000}`;
  let workspace: DaemonWorkspace;
  try {
    await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t (id INT PRIMARY KEY, a VARCHAR(10), b INT)`);
    const start = await gtidBinlogPos(server);
    workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']`, intervalSeconds: 0.3 });
    await withDaemon(workspace, server, async (daemon) => {
      await db.query(`INSERT INTO ${tag}.t VALUES (1, 'one', 10)`);
      await waitForCheckpoint(workspace, await gtidBinlogPos(server), 30_000, daemon);
      await db.query(`ALTER TABLE ${tag}.t ADD COLUMN c DECIMAL(5,2) AFTER id`);
      await db.query(`INSERT INTO ${tag}.t (id, a, b, c) VALUES (2, 'two', 20, 2.50)`);
      await db.query(`ALTER TABLE ${tag}.t ADD COLUMN d VARCHAR(5)`);
      await db.query(`UPDATE ${tag}.t SET d = 'dee', a = 'uno' WHERE id = 1`);
      await db.query(`ALTER TABLE ${tag}.t DROP COLUMN b`);
      await db.query(`INSERT INTO ${tag}.t (id, a, c, d) VALUES (3, 'three', 3.75, 'x')`);
      await waitForCheckpoint(workspace, await gtidBinlogPos(server), 30_000, daemon);
    });
  } finally {
    await db.end();
  }
  const catalog = new LocalCatalog(workspace.catalogDir);
  const table = await catalog.getTable(tag, 't');
  assert.deepEqual(
    table?.columns.map((column) => `${column.name} ${column.type}`),
    ['id int', 'a string', 'b int', '_op string', '_event_time timestamp', '_position string', '_seq bigint', '_source string', 'c decimal(5,2)', 'd string'],
  );
  const rows = bySequence(await readCommittedRows(catalog, new LocalFileSystem(workspace.warehouse), tag, 't'));
  assert.deepEqual(
    rows.map((row) => [row._op, row.id, row.a, row.b, row.c, row.d]),
    [
      ['insert', '1', 'one', '10', null, null],
      ['insert', '2', 'two', '20', '2.50', null],
      ['update', '1', 'uno', '10', null, 'dee'],
      ['insert', '3', 'three', null, '3.75', 'x'],
    ],
  );
}
