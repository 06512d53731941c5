// A workload of UPDATEs that change primary keys, for the current-state tests (key-change.test.ts on
// the embedded default, hive-current-view.test.ts through HiveServer2): a single-column key and a
// composite one; moves to fresh keys, to keys freed earlier, back and forth within one transaction
// and within one checkpoint, several rows in one statement, and a case-only change of a key under a
// case-insensitive collation. Two phases, so a test can checkpoint (or materialize) in between and
// the second phase moves keys the first one left in place.
import type mysql from 'mysql2/promise';

/** The tables: `one` keyed by id, `two` by (k, id); `k` under utf8mb4's default, case-insensitive collation. */
export function keyChangeTables(database: string): string {
  return (
    `CREATE TABLE ${database}.one (id INT NOT NULL, v VARCHAR(20), PRIMARY KEY (id)); ` +
    `CREATE TABLE ${database}.two (k VARCHAR(5) NOT NULL, id INT NOT NULL, v VARCHAR(20), PRIMARY KEY (k, id)) DEFAULT CHARSET=utf8mb4`
  );
}

export const KEY_CHANGE_PHASES: readonly (readonly string[])[] = [
  [
    "INSERT INTO one VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (6, 'f')",
    'UPDATE one SET id = 10 WHERE id = 1',
    "UPDATE one SET id = 20, v = 'b!' WHERE id = 2",
    // Back and forth within one transaction.
    'BEGIN',
    'UPDATE one SET id = 30 WHERE id = 3',
    "UPDATE one SET id = 3, v = 'c!' WHERE id = 30",
    'COMMIT',
    // And across transactions within one checkpoint, ending elsewhere.
    'UPDATE one SET id = 40 WHERE id = 4',
    'UPDATE one SET id = 4 WHERE id = 40',
    'UPDATE one SET id = 41 WHERE id = 4',
    // Several rows in one statement.
    'UPDATE one SET id = id + 100 WHERE id IN (10, 20)',
    // Into a key an earlier move freed.
    "INSERT INTO one VALUES (5, 'e')",
    'UPDATE one SET id = 1 WHERE id = 5',
    "UPDATE one SET v = 'f!' WHERE id = 6",
    "INSERT INTO two VALUES ('a', 1, 'x'), ('a', 2, 'y'), ('b', 1, 'z'), ('q', 7, 'w')",
    "UPDATE two SET k = 'c' WHERE k = 'a' AND id = 1",
    "UPDATE two SET id = 3 WHERE k = 'a' AND id = 2",
    "UPDATE two SET k = 'a', id = 1 WHERE k = 'b' AND id = 1",
    "UPDATE two SET k = 'd' WHERE k = 'c' AND id = 1",
    "UPDATE two SET k = 'c', v = 'x!' WHERE k = 'd' AND id = 1",
    // The same key to the server, another one to Hive and DuckDB.
    "UPDATE two SET k = 'Q' WHERE k = 'q' AND id = 7",
  ],
  [
    // Keys the first phase left in place (in a snapshot, if one was made) move on.
    'UPDATE one SET id = 2 WHERE id = 110',
    'UPDATE one SET id = 110 WHERE id = 3',
    'UPDATE one SET id = 50 WHERE id = 1',
    'DELETE FROM one WHERE id = 50',
    'UPDATE one SET id = 3 WHERE id = 41',
    "UPDATE two SET k = 'b' WHERE k = 'c'",
    "UPDATE two SET id = id + 10 WHERE k = 'a'",
    "UPDATE two SET k = 'q' WHERE k = 'Q'",
  ],
];

/** Runs one phase's statements in the database. */
export async function runKeyChanges(db: mysql.Connection, database: string, phase: number): Promise<void> {
  await db.query(`USE ${database}`);
  for (const statement of KEY_CHANGE_PHASES[phase]!) await db.query(statement);
}

/** The source table's rows as text, in the order the tests compare them: `one` by id, `two` by k and id. */
export async function keyChangeSource(db: mysql.Connection, database: string, table: 'one' | 'two'): Promise<string[][]> {
  const columns = table === 'one' ? 'CAST(id AS CHAR), v' : 'k, CAST(id AS CHAR), v';
  const [rows] = await db.query({ sql: `SELECT ${columns} FROM ${database}.${table}`, rowsAsArray: true });
  return sortRows((rows as (string | null)[][]).map((row) => row.map((value) => (value === null ? null : String(value)))) as string[][]);
}

/** Rows in a stable order, by their text (a reader's ORDER BY may collate otherwise). */
export function sortRows(rows: string[][]): string[][] {
  return [...rows].sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : JSON.stringify(x) > JSON.stringify(y) ? 1 : 0));
}
