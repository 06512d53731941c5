// On MySQL a statement that is a transaction of its own (TRUNCATE, ALTER, DROP, CREATE) has no XID
// event, and zongji adds its GTID to its set only when the next transaction's GTID event comes. A
// checkpoint taken right after such a statement must still hold its GTID: else a restart from that
// checkpoint is sent the statement again, and a TRUNCATE writes its marker twice. Seen while putting the crash
// test on MySQL (crash-mysql.test.ts), where a kill the instant a record lands after a TRUNCATE
// would double the marker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { latestCheckpoint, makeWorkspace, startDaemon, until } from './helpers/daemon.ts';
import { gtidExecuted, waitForMySqlCheckpoint } from './helpers/mysql-gtid.ts';
import { runQueryCli } from './helpers/query-cli.ts';
import { testMysql } from './helpers/servers.ts';

test('MySQL: a checkpoint right after a TRUNCATE holds its GTID, and a restart from it writes the marker once', { timeout: 120_000 }, async () => {
  const server = await testMysql();
  const tag = `ddl${Date.now() % 1_000_000}`;
  const db = await server.rootConnection();
  try {
    await db.query(`CREATE DATABASE ${tag}`);
    await db.query(`CREATE TABLE ${tag}.t (id INT PRIMARY KEY, v VARCHAR(20))`);
    const start = await gtidExecuted(server);
    const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']`, intervalSeconds: 0.2 });
    await db.query(`INSERT INTO ${tag}.t VALUES (1, 'before')`);
    // The last transaction on the server for now: nothing after it folds its GTID into zongji's set.
    await db.query(`TRUNCATE TABLE ${tag}.t`);
    const afterTruncate = await gtidExecuted(server);
    const [status] = await db.query('SHOW BINARY LOG STATUS');
    const head = (status as { File: string; Position: number }[])[0]!;

    const first = startDaemon(workspace, server);
    const record = await until('a checkpoint at the end of the TRUNCATE', first, async () => {
      const position = (await latestCheckpoint(workspace))?.source.position;
      return position?.file === head.File && position.offset >= head.Position ? position : undefined;
    });
    first.child.kill('SIGKILL');
    await first.exited;

    await db.query(`INSERT INTO ${tag}.t VALUES (2, 'after')`);
    const second = startDaemon(workspace, server);
    await waitForMySqlCheckpoint(server, workspace, await gtidExecuted(server), second);
    second.child.kill('SIGTERM');
    assert.equal((await second.exited).code, 0, second.output().slice(-3000));

    const rows = await runQueryCli(workspace, server, `SELECT _op, id, v FROM ${tag}.t ORDER BY _seq`);
    assert.deepEqual(rows, [
      { _op: 'insert', id: '1', v: 'before' },
      { _op: 'truncate', id: null, v: null },
      { _op: 'insert', id: '2', v: 'after' },
    ], 'the TRUNCATE is one marker, though the first run was killed the instant its checkpoint landed');
    const [covered] = await db.query('SELECT GTID_SUBSET(?, ?) AS covered', [afterTruncate, record.gtidSet ?? '']);
    assert.equal(Number((covered as { covered: number }[])[0]!.covered), 1, `the checkpoint at the TRUNCATE's end (${JSON.stringify(record)}) holds its GTID (${afterTruncate})`);
  } finally {
    await db.query(`DROP DATABASE IF EXISTS ${tag}`);
    await db.end();
  }
});
