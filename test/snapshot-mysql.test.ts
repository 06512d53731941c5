// The snapshot on Oracle MySQL 9.7 (docs/snapshot.md): initial_only reads a table with a composite
// key while nothing writes, lands every row once as op read with exact values, and stops by itself.
// (With writes under way MySQL's hand-over has a known gap: see docs/snapshot.md, still to come.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { exitWithin, makeWorkspace, startDaemon } from './helpers/daemon.ts';
import { testMysql } from './helpers/servers.ts';
import { readCommittedRows } from './helpers/warehouse.ts';

test('MySQL 9.7: initial_only reads a composite-key table once, as op read, and stops by itself', { timeout: 180_000 }, async () => {
  const server = await testMysql();
  const tag = `snapmy${Date.now() % 1_000_000}`;
  const setup = await server.rootConnection();
  await setup.query(`CREATE DATABASE ${tag}`);
  await setup.query(`CREATE TABLE ${tag}.t (a VARCHAR(8), b INT, v DECIMAL(12,3), PRIMARY KEY (a, b))`);
  const values = Array.from({ length: 120 }, (_, n) => [`k${n % 7}`, n, `${n}.125`]);
  await setup.query(`INSERT INTO ${tag}.t VALUES ?`, [values]);
  await setup.end();
  const workspace = makeWorkspace(server, { start: 'latest', routing: `  include: ['${tag}.*']`, extra: 'snapshot:\n  mode: initial_only\n  chunkRows: 11\n' });
  const daemon = startDaemon(workspace, server);
  assert.equal(await exitWithin(daemon, 90_000, 'initial_only stops once every table is read'), 0, daemon.output().slice(-3000));
  const rows = await readCommittedRows(new LocalCatalog(workspace.catalogDir), new LocalFileSystem(workspace.warehouse), tag, 't');
  const text = (list: unknown[][]): string[] => list.map((row) => JSON.stringify(row.map(String))).sort();
  assert.deepEqual(text(rows.map((row) => [row._op, row.a, row.b, row.v])), text(values.map((row) => ['read', ...row])));
});
