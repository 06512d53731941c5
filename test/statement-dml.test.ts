// DML logged as a statement (a session's binlog_format=STATEMENT or MIXED, or a global switch after
// the daemon started) has no rows sluice could write: it must stop the tables it changes, with a
// coded error naming the table, the position, the setting and the fix, and never be stepped over.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { writeFileSync } from 'node:fs';
import { classifyStatement } from '../src/sources/binlog/stream/statement-dml.ts';
import { latestCheckpoint } from './helpers/daemon.ts';
import { fedSource } from './helpers/fed-source.ts';
import { changesOf, checkpointAtEnd, withCapture } from './helpers/stopped-changes.ts';

const TABLE = '(id INT PRIMARY KEY, v VARCHAR(20))';

test('INSERT, UPDATE and DELETE logged as statements stop their tables; the others hold exactly their changes', { timeout: 120_000 }, async () => {
  const tables = ['ins', 'upd', 'del', 'mix', 'u'];
  const setup = (tag: string) => `CREATE DATABASE ${tag}_free; CREATE TABLE ${tag}_free.x ${TABLE}; ` + tables.map((table) => `CREATE TABLE ${tag}.${table} ${TABLE}`).join('; ');
  await withCapture('sd', setup, async ({ server, db, tag, workspace, daemon }) => {
    const free = `${tag}_free`;
    const statementSession = await server.rootConnection(tag);
    try {
      for (const table of tables) await db.query(`INSERT INTO ${tag}.${table} VALUES (1, 'row')`);
      await checkpointAtEnd(workspace, daemon, server);

      // Statements on a table sluice does not capture stop nothing, in a transaction or alone.
      await statementSession.query('SET SESSION binlog_format=STATEMENT');
      await statementSession.query(`INSERT INTO ${free}.x VALUES (1, 'free')`);
      await statementSession.query(`BEGIN; INSERT INTO ${free}.x VALUES (2, 'free'); UPDATE ${free}.x SET v = 'freer'; COMMIT`);
      await db.query(`INSERT INTO ${tag}.u VALUES (2, 'row')`);
      const beforeStatements = await checkpointAtEnd(workspace, daemon, server);
      assert.equal(beforeStatements.tables?.stopped, undefined, 'statements on an uncaptured table stop nothing');

      await statementSession.query(`INSERT INTO ins VALUES (2, 'statement')`);
      await statementSession.query(`UPDATE ${tag}.upd SET v = 'statement' WHERE id = 1`);
      await statementSession.query(`DELETE FROM \`${tag}\`.\`del\` WHERE id = 1`);
      // Under MIXED, MariaDB logs a plain INSERT as a statement too (only unsafe ones go as rows).
      await statementSession.query('SET SESSION binlog_format=MIXED');
      await statementSession.query(`INSERT INTO mix VALUES (2, 'mixed')`);
      // The stopped tables take nothing more, also in ROW format; u goes on.
      await db.query(`INSERT INTO ${tag}.ins VALUES (3, 'row')`);
      await db.query(`UPDATE ${tag}.u SET v = 'after' WHERE id = 1`);
      await db.query(`DELETE FROM ${tag}.u WHERE id = 2`);
      const record = await checkpointAtEnd(workspace, daemon, server);

      const stopped = record.tables?.stopped ?? {};
      assert.deepEqual(Object.keys(stopped).sort(), [`${tag}.del`, `${tag}.ins`, `${tag}.mix`, `${tag}.upd`]);
      for (const [table, entry] of Object.entries(stopped)) {
        assert.equal(entry.code, 'SLUICE_BINLOG_STATEMENT_DML', table);
        assert.match(entry.at, /^mysql-bin\.\d+:\d+ \(GTID 0-1-\d+\)$/, table);
        assert.match(entry.message, new RegExp(`^table ${table}: a change of ${table} \\(\\w+\\) at mysql-bin\\.\\d+:\\d+ \\(GTID 0-1-\\d+\\) is in the binlog as a statement`));
        assert.match(entry.message, /binlog_format=STATEMENT or MIXED/);
        assert.match(entry.message, new RegExp(`sluice checkpoint skip-table ${table}\``));
      }
      assert.match(stopped[`${tag}.upd`]!.message, /\(UPDATE\).*`UPDATE \S+\.upd SET v = 'statement' WHERE id = 1`/);
      assert.match(stopped[`${tag}.del`]!.message, /\(DELETE\)/);
      assert.match(daemon.output(), new RegExp(`"table":"${tag}\\.ins","code":"SLUICE_BINLOG_STATEMENT_DML"`));
      assert.equal(daemon.child.exitCode, null, 'a stopped table does not stop the daemon');

      // Each stopped table holds exactly its changes before the statement; u all of its changes.
      for (const table of ['ins', 'upd', 'del', 'mix']) assert.deepEqual(await changesOf(workspace, tag, table), ['insert 1 row'], table);
      assert.deepEqual(await changesOf(workspace, tag, 'u'), ['insert 1 row', 'insert 2 row', 'update 1 after', 'delete 2 row']);
    } finally {
      await statementSession.end();
    }
  });
});

test('a global switch to binlog_format=STATEMENT after the daemon started is caught', { timeout: 120_000 }, async () => {
  await withCapture('sg', (tag) => `CREATE TABLE ${tag}.t ${TABLE}; CREATE TABLE ${tag}.u ${TABLE}`, async ({ server, db, tag, workspace, daemon }) => {
    await db.query(`INSERT INTO ${tag}.t VALUES (1, 'row'); INSERT INTO ${tag}.u VALUES (1, 'row')`);
    await checkpointAtEnd(workspace, daemon, server);
    await db.query('SET GLOBAL binlog_format=STATEMENT');
    try {
      // A new session takes the global value.
      const session = await server.rootConnection(tag);
      await session.query(`INSERT INTO t VALUES (2, 'statement')`);
      await session.end();
    } finally {
      await db.query('SET GLOBAL binlog_format=ROW');
    }
    await db.query(`INSERT INTO ${tag}.u VALUES (2, 'row')`);
    const record = await checkpointAtEnd(workspace, daemon, server);
    assert.deepEqual(Object.keys(record.tables?.stopped ?? {}), [`${tag}.t`]);
    assert.equal(record.tables!.stopped![`${tag}.t`]!.code, 'SLUICE_BINLOG_STATEMENT_DML');
    assert.deepEqual(await changesOf(workspace, tag, 't'), ['insert 1 row']);
    assert.deepEqual(await changesOf(workspace, tag, 'u'), ['insert 1 row', 'insert 2 row']);
  });
});

test('a statement whose tables cannot be told (a stored function that writes) stops the daemon with a coded error', { timeout: 120_000 }, async () => {
  const setup = (tag: string) => `CREATE TABLE ${tag}.t ${TABLE}; CREATE FUNCTION ${tag}.f() RETURNS INT DETERMINISTIC MODIFIES SQL DATA BEGIN INSERT INTO ${tag}.t VALUES (9, 'function'); RETURN 1; END`;
  await withCapture('sf', setup, async ({ server, db, tag, workspace, daemon }) => {
    await db.query(`INSERT INTO ${tag}.t VALUES (1, 'row')`);
    await checkpointAtEnd(workspace, daemon, server);
    await db.query(`SET SESSION binlog_format=STATEMENT; SELECT ${tag}.f(); SET SESSION binlog_format=ROW`);
    assert.equal((await daemon.exited).code, 78, daemon.output().slice(-2000));
    assert.match(daemon.output(), /SLUICE_BINLOG_STATEMENT_DML/);
    assert.match(daemon.output(), /which tables it changed cannot be told \(a SELECT in the binlog runs a stored routine/);
    // The checkpoint never moved past the statement.
    const record = (await latestCheckpoint(workspace))!;
    const [file, offset] = /holds at (mysql-bin\.\d+):(\d+)/.exec(daemon.output())!.slice(1) as [string, string];
    assert.ok(record.source.position.file < file || (record.source.position.file === file && record.source.position.offset < Number(offset)), JSON.stringify(record.source));
    assert.deepEqual(await changesOf(workspace, tag, 't'), ['insert 1 row']);
  });
});

test('LOAD DATA logged as a statement (an event the reader does not decode) stops the daemon', { timeout: 120_000 }, async () => {
  const setup = (tag: string) => `CREATE TABLE ${tag}.t ${TABLE}; CREATE DATABASE ${tag}_free; CREATE TABLE ${tag}_free.x (id INT PRIMARY KEY)`;
  await withCapture('sl', setup, async ({ server, db, tag, workspace, daemon }) => {
    // A User_var event before a statement on another database is not a LOAD DATA.
    await db.query(`SET SESSION binlog_format=STATEMENT; SET @id = 5; INSERT INTO ${tag}_free.x VALUES (@id); SET SESSION binlog_format=ROW`);
    await db.query(`INSERT INTO ${tag}.t VALUES (1, 'row')`);
    const record = await checkpointAtEnd(workspace, daemon, server);
    assert.equal(record.tables?.stopped, undefined);
    const file = `${server.dir}/${tag}.tsv`;
    writeFileSync(file, '2\tloaded\n');
    await db.query(`SET SESSION binlog_format=STATEMENT; LOAD DATA INFILE '${file}' INTO TABLE ${tag}.t; SET SESSION binlog_format=ROW`);
    assert.equal((await daemon.exited).code, 78, daemon.output().slice(-2000));
    assert.match(daemon.output(), /SLUICE_BINLOG_STATEMENT_DML[\s\S]*LOAD DATA|LOAD DATA[\s\S]*SLUICE_BINLOG_STATEMENT_DML/);
    assert.deepEqual(await changesOf(workspace, tag, 't'), ['insert 1 row']);
  });
});

test('CREATE TABLE ... SELECT: under ROW its rows land, logged as a statement it stops the new table', { timeout: 120_000 }, async () => {
  await withCapture('sc', (tag) => `CREATE TABLE ${tag}.u ${TABLE}; INSERT INTO ${tag}.u VALUES (1, 'one'), (2, 'two')`, async ({ server, db, tag, workspace, daemon }) => {
    // Under ROW the server logs BEGIN, the bare CREATE TABLE, the rows, XID: one transaction.
    await db.query(`CREATE TABLE ${tag}.by_rows AS SELECT * FROM ${tag}.u`);
    await db.query(`SET SESSION binlog_format=STATEMENT; CREATE TABLE ${tag}.by_statement AS SELECT * FROM ${tag}.u; SET SESSION binlog_format=ROW`);
    await db.query(`INSERT INTO ${tag}.u VALUES (3, 'three')`);
    const record = await checkpointAtEnd(workspace, daemon, server);
    assert.deepEqual(Object.keys(record.tables?.stopped ?? {}), [`${tag}.by_statement`]);
    assert.match(record.tables!.stopped![`${tag}.by_statement`]!.message, /\(CREATE TABLE \.\.\. SELECT\) at .* is in the binlog as a statement/);
    assert.deepEqual(await changesOf(workspace, tag, 'by_rows'), ['insert 1 one', 'insert 2 two']);
    assert.deepEqual(await changesOf(workspace, tag, 'by_statement'), []);
    assert.deepEqual(await changesOf(workspace, tag, 'u'), ['insert 3 three']);
  });
});

test('statements are told apart: transaction control, DDL, DML and the tables it writes, DML whose tables cannot be told', () => {
  const tables = (statement: string, schema = 'db') => {
    const kind = classifyStatement(statement, schema);
    return kind.kind === 'dml' ? kind.tables.map((ref) => `${ref.schema}.${ref.table}`) : kind.kind;
  };
  assert.equal(tables('BEGIN'), 'transaction-control');
  assert.equal(tables('XA END X\'31\''), 'transaction-control');
  assert.equal(tables('ALTER TABLE t ADD c INT'), 'ddl');
  assert.equal(tables('TRUNCATE t'), 'ddl');
  assert.deepEqual(classifyStatement('CREATE TABLE IF NOT EXISTS c (x INT) IGNORE SELECT id FROM u', 'db'), { kind: 'ddl', rowsInto: { schema: 'db', table: 'c' } });
  assert.deepEqual(classifyStatement('CREATE TABLE `c` (\n  `x` int(11) DEFAULT NULL\n)', 'db'), { kind: 'ddl' });
  assert.deepEqual(classifyStatement('CREATE TEMPORARY TABLE c AS SELECT 1', 'db'), { kind: 'ddl' });
  assert.equal(tables('SET PASSWORD = PASSWORD(\'x\')'), 'other');
  assert.deepEqual(tables("INSERT INTO t (v) VALUES ('s1')"), ['db.t']);
  assert.deepEqual(tables('insert low_priority ignore `o`.`t` select * from other.u'), ['o.t']);
  assert.deepEqual(tables('/* app */ REPLACE INTO u VALUES (10, 11)'), ['db.u']);
  assert.deepEqual(tables('UPDATE t SET v = 1 WHERE id IN (SELECT id FROM other.u)'), ['db.t']);
  assert.deepEqual(tables('UPDATE t JOIN o.u ON t.id = u.id LEFT JOIN w USING (id) SET t.v = 1'), ['db.t', 'o.u', 'db.w']);
  assert.deepEqual(tables('UPDATE t AS a, (SELECT id FROM z) AS d SET a.v = 1 WHERE a.id = d.id'), ['db.t']);
  assert.deepEqual(tables('DELETE FROM t WHERE id = 1'), ['db.t']);
  assert.deepEqual(tables('DELETE a FROM t AS a JOIN u ON a.id = u.id WHERE u.v = 3'), ['db.t', 'db.u']);
  assert.deepEqual(tables('DELETE FROM a.*, b USING t AS a JOIN o.u AS b'), ['db.t', 'o.u']);
  assert.deepEqual(tables("LOAD DATA INFILE '/x' REPLACE INTO TABLE `t` FIELDS TERMINATED BY '\\t'"), ['db.t']);
  assert.equal(tables('LOAD INDEX INTO CACHE t'), 'other');
  for (const unknown of ['SELECT `db`.`f`()', 'DO f()', 'CALL p()', 'UPDATE (t JOIN u) SET t.v = 1']) assert.equal(tables(unknown), 'dml-unknown', unknown);
  assert.equal(tables('INSERT INTO t VALUES (1)', ''), 'dml-unknown', 'no default database');
});

test('statements inside BEGIN ... COMMIT are part of their transaction: the only boundary is its end', async () => {
  // MariaDB writes statement-format DML as BEGIN, the statements, then XID (InnoDB) or COMMIT
  // (MyISAM). A boundary after a statement would let a checkpoint record the whole transaction
  // while the rows after it (under MIXED, unsafe statements go as rows) were not yet handed on.
  const { source, emit } = fedSource(['db.*']);
  emit({ name: 'query', query: 'BEGIN', schema: 'free', nextPosition: 100, gtid: '0-1-41' });
  emit({ name: 'query', query: "INSERT INTO x VALUES (1, 'free')", schema: 'free', nextPosition: 200, gtid: '0-1-41' });
  emit({ name: 'query', query: 'UPDATE free.x SET v = 2', schema: 'db', nextPosition: 300, gtid: '0-1-41' });
  emit({ name: 'xid', nextPosition: 400, gtid: '0-1-41' });
  emit({ name: 'query', query: 'BEGIN', schema: 'free', nextPosition: 500, gtid: '0-1-42' });
  emit({ name: 'query', query: 'INSERT INTO x VALUES (2)', schema: 'free', nextPosition: 600, gtid: '0-1-42' });
  emit({ name: 'query', query: 'COMMIT', schema: 'free', nextPosition: 700, gtid: '0-1-42' });
  emit({ name: 'query', query: 'ALTER TABLE t ADD c INT', schema: 'db', nextPosition: 800, gtid: '0-1-43' });
  // CREATE TABLE ... SELECT under ROW: its rows come after the CREATE, in the same transaction.
  emit({ name: 'query', query: 'BEGIN', schema: 'db', nextPosition: 900, gtid: '0-1-44' });
  emit({ name: 'query', query: 'CREATE TABLE `c` (`id` int(11) NOT NULL)', schema: 'db', nextPosition: 1000, gtid: '0-1-44' });
  emit({ name: 'xid', nextPosition: 1100, gtid: '0-1-44' });
  const items = [];
  while (source.queuedItems > 0) items.push(await source.next());
  assert.deepEqual(
    items.map((item) => (item.kind === 'boundary' ? `${item.position.offset} ${item.statement ?? ''}`.trim() : item.kind)),
    ['400', '700', '800 ALTER TABLE t ADD c INT', '1100'],
  );
});

test('a statement on a captured table is stopped at once, with the table, position and statement', async () => {
  const { source, emit } = fedSource(['db.*']);
  emit({ name: 'query', query: 'BEGIN', schema: 'db', nextPosition: 100, gtid: '0-1-41' });
  emit({ name: 'query', query: 'UPDATE t JOIN free.x USING (id) SET t.v = x.v', schema: 'db', nextPosition: 260, gtid: '0-1-41' });
  emit({ name: 'xid', nextPosition: 300, gtid: '0-1-41' });
  const failed = await source.next();
  assert.equal(failed.kind, 'table-failed');
  assert.ok(failed.kind === 'table-failed');
  assert.equal(failed.at, 'mysql-bin.000007:260 (GTID 0-1-41)');
  assert.equal(failed.error.code, 'SLUICE_BINLOG_STATEMENT_DML');
  assert.equal(failed.error.context.table, 'db.t');
  assert.match(failed.error.message, /`UPDATE t JOIN free\.x USING \(id\) SET t\.v = x\.v`/);
  assert.deepEqual((await source.next()).kind, 'boundary');
  assert.equal(source.queuedItems, 0, 'the uncaptured free.x is not stopped');
});
