// What the snapshot tests check at the end (docs/snapshot.md), on MariaDB and on MySQL alike: the
// latest state per key in Hive equals the source table, every change a writer made is in the
// changelog once, no _seq repeats, no key is read twice, and an untouched row is read once, as it was.
import assert from 'node:assert/strict';
import type mysql from 'mysql2/promise';
import { LocalCatalog } from '../../src/catalog/local-catalog.ts';
import { CheckpointStore } from '../../src/checkpoint/checkpoint-store.ts';
import { LocalFileSystem } from '../../src/filesystem/local-filesystem.ts';
import type { SnapshotState } from '../../src/sources/snapshot/snapshot-progress.ts';
import type { DaemonWorkspace } from './daemon.ts';
import { readCommittedRows, type TableRow } from './warehouse.ts';

export interface SnapshotTableSpec {
  name: string;
  ddl: string;
  /** Key columns, and the one value column. */
  key: string[];
  /** The key of the n-th row, as SQL literals in key order. */
  keyOf(n: number): (string | number | Buffer)[];
}

/** A writer's change: [table, op, key as keyText, v (null for a delete)]. */
export type MadeChange = [string, string, string, string | null];

/** A key as text, the same for a source row and a Hive row. */
export function keyText(values: unknown[]): string {
  return JSON.stringify(values.map((value) => (Buffer.isBuffer(value) ? value.toString('hex') : String(value))));
}

export async function snapshotState(workspace: DaemonWorkspace): Promise<SnapshotState | undefined> {
  const record = await new CheckpointStore(workspace.stateDir).latest().catch(() => undefined);
  return record?.sources.snapshot as SnapshotState | undefined;
}

export function snapshotDone(state: SnapshotState | undefined): boolean {
  return state !== undefined && Object.values(state.position.tables).every((table) => table.done);
}

export function rowsRead(state: SnapshotState | undefined): number {
  return Object.values(state?.position.tables ?? {}).reduce((sum, table) => sum + table.rows, 0);
}

/**
 * Checks every table of `tables` in Hive database `hiveDb` against the source (`db`, in the tables'
 * database): rows `0..rowsBefore-1` existed before the start, `made` is every change the writers made.
 */
export async function assertSnapshotLanded(options: { workspace: DaemonWorkspace; db: mysql.Connection; hiveDb: string; tables: SnapshotTableSpec[]; rowsBefore: number; made: MadeChange[] }): Promise<void> {
  const { workspace, db, hiveDb, tables, rowsBefore, made } = options;
  const catalog = new LocalCatalog(workspace.catalogDir);
  const fs = new LocalFileSystem(workspace.warehouse);
  const allSeqs = new Set<string>();
  for (const table of tables) {
    const [sourceRows] = await db.query<mysql.RowDataPacket[]>(`SELECT * FROM ${table.name}`);
    const rows = await readCommittedRows(catalog, fs, hiveDb, table.name);
    const keyOfRow = (row: TableRow | mysql.RowDataPacket): string => keyText(table.key.map((column) => row[column]));
    for (const row of rows) {
      assert.ok(!allSeqs.has(String(row._seq)), `_seq ${row._seq} appears once`);
      allSeqs.add(String(row._seq));
    }

    // The latest state per key equals the source table.
    const latest = new Map<string, TableRow>();
    for (const row of rows) {
      const key = keyOfRow(row);
      const seen = latest.get(key);
      if (!seen || BigInt(String(row._seq)) > BigInt(String(seen._seq))) latest.set(key, row);
    }
    const state = new Map([...latest].filter(([, row]) => row._op !== 'delete').map(([key, row]) => [key, String(row.v)]));
    const expected = new Map(sourceRows.map((row) => [keyOfRow(row), String(row.v)]));
    assert.deepEqual(new Map([...state].sort()), new Map([...expected].sort()), `${table.name}: the latest state per key is the source's`);

    // Every change the writer made is there once, and nothing else came from the stream.
    const streamed = rows.filter((row) => row._op !== 'read').map((row) => [row._op, keyOfRow(row), row._op === 'delete' ? null : String(row.v)]);
    const wanted = made.filter(([name]) => name === table.name).map(([, op, key, v]) => [op, key, v]);
    const sortRows = (list: unknown[][]): string[] => list.map((entry) => JSON.stringify(entry)).sort();
    assert.deepEqual(sortRows(streamed), sortRows(wanted), `${table.name}: the stream's changes are the writer's, each once`);

    // No key is read twice; an untouched key is read once, as it was before the start.
    const read = rows.filter((row) => row._op === 'read');
    const readKeys = read.map(keyOfRow);
    assert.equal(new Set(readKeys).size, readKeys.length, `${table.name}: no key is read twice`);
    const touched = new Set(made.filter(([name]) => name === table.name).map(([, , key]) => key));
    const readValues = new Map(read.map((row) => [keyOfRow(row), String(row.v)]));
    for (let n = 0; n < rowsBefore; n++) {
      const key = keyText(table.keyOf(n));
      if (!touched.has(key)) assert.equal(readValues.get(key), `before${n}`, `${table.name}: untouched row ${key} is read once, as it was`);
    }
  }
}

/** Updates written in this process: each writes a value of its own. */
let updatesWritten = 0;

/**
 * One random change to one of `tables` (through `db`, in their database), recorded in `made` if it
 * changed a row: an insert of a new key (`counter.nextNew`), or an update or delete of a key anywhere
 * in the table (in chunks already read, being read, and not read yet). Several writers may share
 * `counter` and `made`.
 */
export async function writeRandomChange(db: mysql.Connection, tables: SnapshotTableSpec[], random: () => number, counter: { nextNew: number }, made: MadeChange[]): Promise<void> {
  const table = tables[Math.floor(random() * tables.length)]!;
  const where = table.key.map((column) => `${column} = ?`).join(' AND ');
  const roll = random();
  const n = Math.floor(random() * counter.nextNew);
  const key = table.keyOf(n);
  if (roll < 0.3) {
    const fresh = table.keyOf(counter.nextNew++);
    const v = `new${counter.nextNew}`;
    await db.query(`INSERT INTO ${table.name} VALUES (?)`, [[...fresh, v]]);
    made.push([table.name, 'insert', keyText(fresh), v]);
  } else if (roll < 0.8) {
    // A value no statement wrote before: an UPDATE that sets the value a row holds already matches
    // the row (mysql2 connects with CLIENT_FOUND_ROWS, so affectedRows counts it) but changes
    // nothing, and the server logs no row event for it. `made.length` is no such value: writers
    // sharing `made` read the same length while their statements are under way.
    const v = `upd${++updatesWritten}`;
    const [result] = await db.query<mysql.ResultSetHeader>(`UPDATE ${table.name} SET v = ? WHERE ${where}`, [v, ...key]);
    if (result.affectedRows > 0) made.push([table.name, 'update', keyText(key), v]);
  } else {
    const [result] = await db.query<mysql.ResultSetHeader>(`DELETE FROM ${table.name} WHERE ${where}`, key);
    if (result.affectedRows > 0) made.push([table.name, 'delete', keyText(key), null]);
  }
}
