// DDL that moves rows into or out of a captured table with no row event (partition operations,
// RENAME TABLE, DROP DATABASE) must never be stepped over: a table whose every row left its name gets
// a truncate marker; one whose rows changed otherwise stops with SLUICE_BINLOG_ROWS_MOVED; a dropped
// database the routing may capture stops the stream.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Router } from '../src/routing/router.ts';
import { rowsMovedBy } from '../src/sources/binlog/stream/rows-moved.ts';
import { latestCheckpoint } from './helpers/daemon.ts';
import { changesOf, checkpointAtEnd, withCapture } from './helpers/stopped-changes.ts';

const TABLE = '(id INT PRIMARY KEY, v VARCHAR(20))';
const PARTITIONED = `${TABLE} PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (10), PARTITION p1 VALUES LESS THAN (20), PARTITION p2 VALUES LESS THAN MAXVALUE)`;

test('which statements move rows, and what each does to which table', () => {
  const read = (statement: string) => {
    // db.t, db.a and x.* are captured.
    const moved = rowsMovedBy(statement, 'db', (ref) => ref.schema === 'x' || (ref.schema === 'db' && ['t', 'a'].includes(ref.table)));
    if (!moved) return undefined;
    const name = (ref: { schema: string; table: string }) => `${ref.schema}.${ref.table}`;
    return { emptied: moved.emptied.map(name), changed: moved.changed.map((change) => name(change.table)), schema: moved.droppedSchema };
  };
  assert.deepEqual(read('ALTER TABLE t TRUNCATE PARTITION p0, p1'), { emptied: [], changed: ['db.t'], schema: undefined });
  assert.deepEqual(read('alter table x.t truncate partition all'), { emptied: ['x.t'], changed: [], schema: undefined });
  assert.deepEqual(read('ALTER TABLE t DROP PARTITION p0'), { emptied: [], changed: ['db.t'], schema: undefined });
  assert.deepEqual(read('ALTER TABLE t EXCHANGE PARTITION p0 WITH TABLE x.nt'), { emptied: [], changed: ['db.t', 'x.nt'], schema: undefined });
  assert.deepEqual(read('ALTER TABLE t CONVERT PARTITION p0 TO TABLE nt'), { emptied: [], changed: ['db.t', 'db.nt'], schema: undefined });
  assert.deepEqual(read('ALTER TABLE t CONVERT TABLE nt TO PARTITION p3 VALUES LESS THAN (40)'), { emptied: ['db.nt'], changed: ['db.t'], schema: undefined });
  // A swap: t is emptied and filled, so it is stopped only.
  assert.deepEqual(read('RENAME TABLE t TO t_old, t_new TO t'), { emptied: [], changed: ['db.t'], schema: undefined });
  assert.deepEqual(read('ALTER TABLE a RENAME TO b'), { emptied: ['db.a'], changed: [], schema: undefined });
  assert.deepEqual(read('ALTER TABLE b RENAME TO x.b'), { emptied: [], changed: ['x.b'], schema: undefined });
  // From one captured name to another: the changelog saw the rows; the rules route what follows.
  assert.equal(read('RENAME TABLE a TO x.a'), undefined);
  assert.deepEqual(read('DROP SCHEMA IF EXISTS `x`'), { emptied: [], changed: [], schema: 'x' });
  for (const keeps of ['ALTER TABLE t ADD PARTITION (PARTITION p3 VALUES LESS THAN (30))', 'ALTER TABLE t REORGANIZE PARTITION p0 INTO (PARTITION a VALUES LESS THAN (10))', 'ALTER TABLE t ADD COLUMN c INT', 'DROP TABLE t', 'INSERT INTO t VALUES (1)']) {
    assert.equal(read(keeps), undefined, keeps);
  }
  const router = new Router({ include: ['shop_*.order*', 'one.t'], exclude: [], rules: [] });
  assert.deepEqual(['shop_1', 'SHOP_2', 'one', 'shop', 'other', 'mysql'].map((schema) => router.mayCaptureSchema(schema)), [true, true, true, false, false, false]);
});

test('partition operations: TRUNCATE PARTITION ALL writes a marker; TRUNCATE, DROP and EXCHANGE PARTITION stop their tables', { timeout: 120_000 }, async () => {
  const partitioned = ['tp', 'dp', 'ta', 'ex', 'u'];
  const setup = (tag: string) => [...partitioned.map((table) => `CREATE TABLE ${tag}.${table} ${PARTITIONED}`), `CREATE TABLE ${tag}.nt ${TABLE}`].join('; ');
  await withCapture('rp', setup, async ({ server, db, tag, workspace, daemon }) => {
    for (const table of partitioned) await db.query(`INSERT INTO ${tag}.${table} VALUES (1, 'row'), (15, 'row')`);
    await db.query(`INSERT INTO ${tag}.nt VALUES (5, 'nt')`);
    await checkpointAtEnd(workspace, daemon, server);

    await db.query(`ALTER TABLE ${tag}.tp TRUNCATE PARTITION p0`);
    await db.query(`ALTER TABLE ${tag}.dp DROP PARTITION p0`);
    await db.query(`ALTER TABLE ${tag}.ta TRUNCATE PARTITION ALL`);
    await db.query(`ALTER TABLE ${tag}.ex EXCHANGE PARTITION p0 WITH TABLE ${tag}.nt`);
    // Moves no row: stops nothing.
    await db.query(`ALTER TABLE ${tag}.u REORGANIZE PARTITION p2 INTO (PARTITION p2 VALUES LESS THAN (30), PARTITION p3 VALUES LESS THAN MAXVALUE)`);
    for (const table of [...partitioned, 'nt']) await db.query(`INSERT INTO ${tag}.${table} VALUES (25, 'after')`);
    const record = await checkpointAtEnd(workspace, daemon, server);

    const stopped = record.tables?.stopped ?? {};
    assert.deepEqual(Object.keys(stopped).sort(), [`${tag}.dp`, `${tag}.ex`, `${tag}.nt`, `${tag}.tp`]);
    for (const [table, entry] of Object.entries(stopped)) {
      assert.equal(entry.code, 'SLUICE_BINLOG_ROWS_MOVED', table);
      assert.match(entry.message, new RegExp(`^table ${table}: \\S+ changed at mysql-bin\\.\\d+:\\d+ \\(GTID 0-1-\\d+\\) by \`ALTER TABLE`), table);
      assert.match(entry.message, new RegExp(`sluice checkpoint skip-table ${table}\``), table);
    }
    assert.match(stopped[`${tag}.tp`]!.message, /TRUNCATE PARTITION removed the rows of a partition/);
    assert.match(stopped[`${tag}.dp`]!.message, /DROP PARTITION removed the rows of a partition/);
    assert.match(stopped[`${tag}.nt`]!.message, new RegExp(`EXCHANGE PARTITION swapped rows between it and ${tag}\\.nt`));
    assert.equal(daemon.child.exitCode, null, 'a stopped table does not stop the daemon');

    for (const table of ['tp', 'dp', 'ex']) assert.deepEqual(await changesOf(workspace, tag, table), ['insert 1 row', 'insert 15 row'], table);
    assert.deepEqual(await changesOf(workspace, tag, 'nt'), ['insert 5 nt']);
    assert.deepEqual(await changesOf(workspace, tag, 'ta'), ['insert 1 row', 'insert 15 row', 'truncate null null', 'insert 25 after']);
    assert.deepEqual(await changesOf(workspace, tag, 'u'), ['insert 1 row', 'insert 15 row', 'insert 25 after']);
  });
});

test('RENAME TABLE: a captured name that loses its rows gets a marker; one that gains rows it never saw inserted stops', { timeout: 120_000 }, async () => {
  const setup = (tag: string) =>
    `CREATE DATABASE ${tag}_free; CREATE TABLE ${tag}_free.x ${TABLE}; CREATE TABLE ${tag}_free.y ${TABLE}; ` +
    ['swap', 'gone', 'u'].map((table) => `CREATE TABLE ${tag}.${table} ${TABLE}`).join('; ');
  await withCapture('rr', setup, async ({ server, db, tag, workspace, daemon }) => {
    const free = `${tag}_free`;
    for (const table of ['swap', 'gone', 'u']) await db.query(`INSERT INTO ${tag}.${table} VALUES (1, 'row')`);
    await db.query(`INSERT INTO ${free}.x VALUES (7, 'x'); INSERT INTO ${free}.y VALUES (8, 'y')`);
    await checkpointAtEnd(workspace, daemon, server);

    // An online schema change tool's swap: the new swap holds rows the changelog never saw inserted.
    await db.query(`RENAME TABLE ${tag}.swap TO ${free}.swap_old, ${free}.x TO ${tag}.swap`);
    // Rows leave a captured name: like DROP TABLE, a marker; the name goes on when created again.
    await db.query(`RENAME TABLE ${tag}.gone TO ${free}.gone_old`);
    await db.query(`CREATE TABLE ${tag}.gone ${TABLE}`);
    await db.query(`ALTER TABLE ${free}.y RENAME TO ${tag}.came`);
    for (const table of ['swap', 'gone', 'came', 'u']) await db.query(`INSERT INTO ${tag}.${table} VALUES (2, 'after')`);
    const record = await checkpointAtEnd(workspace, daemon, server);

    const stopped = record.tables?.stopped ?? {};
    assert.deepEqual(Object.keys(stopped).sort(), [`${tag}.came`, `${tag}.swap`]);
    assert.match(stopped[`${tag}.swap`]!.message, new RegExp(`RENAME TABLE gave it the rows of ${free}\\.x, which reach the binlog as no inserts`));
    assert.match(stopped[`${tag}.came`]!.message, new RegExp(`ALTER TABLE \\.\\.\\. RENAME gave it the rows of ${free}\\.y`));
    for (const entry of Object.values(stopped)) assert.equal(entry.code, 'SLUICE_BINLOG_ROWS_MOVED');

    assert.deepEqual(await changesOf(workspace, tag, 'swap'), ['insert 1 row']);
    assert.deepEqual(await changesOf(workspace, tag, 'came'), []);
    assert.deepEqual(await changesOf(workspace, tag, 'gone'), ['insert 1 row', 'truncate null null', 'insert 2 after']);
    assert.deepEqual(await changesOf(workspace, tag, 'u'), ['insert 1 row', 'insert 2 after']);
  });
});

test('DROP DATABASE of a database the routing may capture stops the daemon with a coded error; another one stops nothing', { timeout: 120_000 }, async () => {
  await withCapture('rd', (tag) => `CREATE DATABASE ${tag}_other; CREATE TABLE ${tag}_other.t ${TABLE}; CREATE TABLE ${tag}.t ${TABLE}`, async ({ server, db, tag, workspace, daemon }) => {
    await db.query(`INSERT INTO ${tag}.t VALUES (1, 'row'); INSERT INTO ${tag}_other.t VALUES (1, 'row')`);
    await db.query(`DROP DATABASE ${tag}_other`);
    const before = await checkpointAtEnd(workspace, daemon, server);
    assert.equal(before.tables, undefined, 'a database no include pattern reaches stops nothing');
    await db.query(`DROP SCHEMA ${tag}`);
    assert.equal((await daemon.exited).code, 78, daemon.output().slice(-2000));
    assert.match(daemon.output(), /SLUICE_BINLOG_DATABASE_DROPPED/);
    assert.match(daemon.output(), new RegExp(`\`DROP SCHEMA ${tag}\` at mysql-bin\\.\\d+:\\d+ \\(GTID 0-1-\\d+\\) removed every table of database ${tag}`));
    assert.match(daemon.output(), /sluice checkpoint set/);
    // Nothing past the statement was committed: the table holds its row, the checkpoint is before it.
    assert.deepEqual(await changesOf(workspace, tag, 't'), ['insert 1 row']);
    const statementGtid = Number(/\(GTID 0-1-(\d+)\) removed every table/.exec(daemon.output())![1]);
    const recorded = Number(/0-1-(\d+)/.exec((await latestCheckpoint(workspace))!.source.position.gtidSet!)![1]);
    assert.ok(recorded < statementGtid, `the checkpoint (GTID 0-1-${recorded}) stays before the statement (0-1-${statementGtid})`);
  });
});
