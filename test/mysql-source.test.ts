// Oracle MySQL 9.7 as the source, on the real server (test/servers/mysql.ts): `sluice check` and the
// daemon's preflight on a server without SHOW MASTER STATUS, a replication user on
// caching_sha2_password, grants as MySQL names them, and INSERT/UPDATE/DELETE landing exactly as
// MySQL's own SELECT shows them, resumed from the checkpoint's MySQL GTID set across a clean stop
// and a kill -9 with nothing doubled.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isSluiceError } from '../src/core/errors.ts';
import { preflight } from '../src/sources/binlog/server/preflight.ts';
import { latestCheckpoint, makeWorkspace, metricsPort, startDaemon, stopDaemon, waitForChangesRead, withDaemon } from './helpers/daemon.ts';
import { gtidExecuted, waitForMySqlCheckpoint } from './helpers/mysql-gtid.ts';
import { runQueryCli, type QueryRow } from './helpers/query-cli.ts';
import { REPO_ROOT, testMysql } from './helpers/servers.ts';

const TABLE = `(id INT PRIMARY KEY, name VARCHAR(40), amount DECIMAL(12,3), big BIGINT UNSIGNED, happened DATETIME(6), doc JSON)
  DEFAULT CHARSET utf8mb4`;
/** The columns as MySQL's SELECT shows them, in the text `sluice query --json` prints. */
/** Fresh each run: a server reused across runs skips a transaction whose GTID it already has. */
const OTHER_UUID = randomUUID();
const COLUMNS = 'id, name, amount, big, happened, CAST(doc AS CHAR) AS doc';

test('sluice check passes on MySQL 9.7; preflight names the grant MySQL calls REPLICATION CLIENT and accepts binlog_transaction_compression', { timeout: 120_000 }, async () => {
  const server = await testMysql();
  const workspace = makeWorkspace(server, { start: 'latest', routing: "  include: ['nosuch.*']" });
  // A second UUID in @@gtid_executed, which MySQL then shows over two lines.
  const setup = await server.rootConnection();
  await setup.query(`SET gtid_next = '${randomUUID()}:1'; BEGIN; COMMIT; SET gtid_next = 'AUTOMATIC'`);
  await setup.end();
  const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'check', '--config', workspace.configFile], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, SLUICE_TEST_PASSWORD: server.password },
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /^ok {4}MySQL reachable: 127\.0\.0\.1:\d+ as 'sluice', MySQL 9\.7\./m);
  // SHOW BINARY LOG STATUS gave the head and @@gtid_executed the GTID set, in MySQL's uuid:1-N form, on one line.
  assert.match(result.stdout, /^ok {4}binlog files: \d+ from mysql-bin\.\d+ to mysql-bin\.\d+:\d+, GTID [0-9a-f-]{36}:[\d:-]+(,[0-9a-f-]{36}:[\d:-]+)+$/m);
  assert.match(result.stdout, /^all 10 checks passed$/m);

  const root = await server.rootConnection();
  const user = `nocli${Date.now() % 100_000}`;
  try {
    await root.query(`CREATE USER ?@'127.0.0.1' IDENTIFIED WITH caching_sha2_password BY 'pw'; GRANT REPLICATION SLAVE, SELECT ON *.* TO ?@'127.0.0.1'`, [user, user]);
    await assert.rejects(
      preflight({ host: '127.0.0.1', port: server.port, user, password: 'pw', connectTimeoutMs: 10_000 }),
      (error) => isSluiceError(error, 'SLUICE_MYSQL_PRIVILEGE_MISSING') && /lacks REPLICATION CLIENT/.test(error.message),
    );
    // Compressed transactions are decoded (test/mysql-compression.test.ts): the setting passes.
    await root.query('SET GLOBAL binlog_transaction_compression = ON');
    await preflight({ host: '127.0.0.1', port: server.port, user: server.user, password: server.password, connectTimeoutMs: 10_000 });
  } finally {
    await root.query('SET GLOBAL binlog_transaction_compression = OFF');
    await root.query(`DROP USER IF EXISTS ?@'127.0.0.1'`, [user]);
    await root.end();
  }
});

test('INSERT, UPDATE and DELETE on MySQL 9.7 land exactly, resumed by GTID set across a stop and a kill -9, nothing doubled', { timeout: 240_000 }, async () => {
  const server = await testMysql();
  const tag = `my${Date.now() % 1_000_000}`;
  const db = await server.rootConnection();
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t ${TABLE}`);
  // Every login after this one is a full caching_sha2_password authentication (over TLS, which
  // source.tls's default, preferred, takes; plain TCP in test/mysql-auth.test.ts) until the server
  // caches the password again.
  await db.query('FLUSH PRIVILEGES');
  const start = await gtidExecuted(server);
  const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']`, intervalSeconds: 600 });

  /** [_op, row as MySQL shows it] for each change, in commit order: the image after an insert or update, before a delete. */
  const expected: [string, QueryRow][] = [];
  const select = async (id: number): Promise<QueryRow> => {
    const [rows] = await db.query(`SELECT ${COLUMNS} FROM ${tag}.t WHERE id = ?`, [id]);
    return textRow((rows as Record<string, unknown>[])[0]!);
  };
  const insert = async (id: number, name: string, amount: string, big: string, at: string, doc: string, gtid?: string) => {
    // A transaction under a GTID of another server's UUID, as a failover or a merged replica leaves them.
    if (gtid) await db.query('SET gtid_next = ?', [gtid]);
    await db.query(`INSERT INTO ${tag}.t VALUES (?, ?, ?, ?, ?, ?)`, [id, name, amount, big, at, doc]);
    if (gtid) await db.query("SET gtid_next = 'AUTOMATIC'");
    expected.push(['insert', await select(id)]);
  };
  const update = async (id: number, assignments: string) => {
    await db.query(`UPDATE ${tag}.t SET ${assignments} WHERE id = ?`, [id]);
    expected.push(['update', await select(id)]);
  };
  const remove = async (id: number) => {
    const before = await select(id);
    await db.query(`DELETE FROM ${tag}.t WHERE id = ?`, [id]);
    expected.push(['delete', before]);
  };

  try {
    // Run 1: a clean stop, whose final checkpoint records MySQL's GTID set.
    const first = startDaemon(workspace, server);
    await insert(1, 'plain', '12.500', '18446744073709551615', '2026-01-31 23:59:59.999999', '{"a": 1, "b": [true, null, "x"]}');
    await insert(2, 'ünïcødé 🐬', '-0.001', '0', '1970-01-01 00:00:01.000001', '{"nested": {"deep": {"n": 1.5}}}');
    await insert(3, 'to delete', '0.000', '42', '2000-02-29 12:00:00.000000', '[]');
    await update(1, "name = 'renamed', amount = amount * 2");
    await remove(3);
    // A second UUID with a gap (5 and 9, not 6 to 8), which MySQL writes as uuid:5:9.
    await insert(6, 'other uuid', '6.000', '6', '2026-02-02 02:02:02.000002', '{"u": 5}', `${OTHER_UUID}:5`);
    await insert(7, 'after gap', '7.000', '7', '2026-02-02 02:02:02.000002', '{"u": 9}', `${OTHER_UUID}:9`);
    await waitForChangesRead(first, expected.length);
    assert.equal((await stopDaemon(first)).code, 0, first.output().slice(-3000));
    const stopped = (await latestCheckpoint(workspace))?.source.position.gtidSet ?? '';
    assert.match(stopped, new RegExp(`(^|,\\s*)${OTHER_UUID}:5:9(,|$)`), `the checkpoint holds MySQL's GTID set: ${stopped}`);
    assert.ok(await sameGtidSet(stopped, await gtidExecuted(server)), `the final checkpoint (${stopped}) covers every transaction and no more`);

    // Changes while it is down; run 2 reads them from the checkpoint's GTID set and is killed
    // before it checkpoints (the interval is 600 s), so its staged files are lost.
    await insert(4, 'while down', '4.000', '4', '2026-06-01 00:00:00.500000', 'null');
    await update(2, "doc = JSON_SET(doc, '$.nested.deep.n', 2)");
    await insert(8, 'fills the gap', '8.000', '8', '2026-03-03 03:03:03.000003', '{"u": 7}', `${OTHER_UUID}:7`);
    const second = startDaemon(workspace, server);
    await waitForChangesRead(second, 3);
    second.child.kill('SIGKILL');
    await second.exited;
    assert.match(second.output(), /checkpoint at/, 'run 2 resumed from the checkpoint');

    // Run 3 resumes from the same GTID set again, catches up and goes on.
    writeFileSync(workspace.configFile, readFileSync(workspace.configFile, 'utf8').replace('intervalSeconds: 600', 'intervalSeconds: 0.3'));
    const { daemon: third, exit: thirdExit } = await withDaemon(workspace, server, async (third) => {
      await metricsPort(third);
      await insert(5, 'after kill', '5.000', '5', '2026-12-31 23:59:59.000000', '"a string"');
      await remove(4);
      await update(5, 'big = big + 1');
      await waitForMySqlCheckpoint(server, workspace, await gtidExecuted(server), third);
    });
    assert.equal(thirdExit.code, 0, third.output().slice(-3000));

    const landed = await runQueryCli(workspace, server, `SELECT _op, ${COLUMNS.replace('CAST(doc AS CHAR) AS doc', 'doc')}, _seq FROM ${tag}.t ORDER BY _seq`);
    assert.deepEqual(
      landed.map(({ _seq: _, ...row }) => row),
      expected.map(([op, row]) => ({ _op: op, ...row })),
      'every change once, in commit order, each value as MySQL shows it',
    );
    const landedGtids = (await runQueryCli(workspace, server, `SELECT _position FROM ${tag}.t WHERE _source = '${tag}.t' AND id IN (6, 7, 8) ORDER BY _seq`)).map((row) => row._position);
    assert.deepEqual(landedGtids, [`${OTHER_UUID}:5`, `${OTHER_UUID}:9`, `${OTHER_UUID}:7`], 'each row names its own GTID; the gap filled later is read after the resume');
    const [current] = await db.query(`SELECT ${COLUMNS} FROM ${tag}.t ORDER BY id`);
    const latest = new Map<string, QueryRow>();
    for (const [op, row] of expected) op === 'delete' ? latest.delete(row.id!) : latest.set(row.id!, row);
    assert.deepEqual([...latest.values()].sort((a, b) => Number(a.id) - Number(b.id)), (current as Record<string, unknown>[]).map(textRow), 'the latest state is MySQL\'s');
  } finally {
    await db.end();
  }

  async function sameGtidSet(a: string, b: string): Promise<boolean> {
    const [rows] = await db.query('SELECT GTID_SUBSET(?, ?) AND GTID_SUBSET(?, ?) AS same', [a, b, b, a]);
    return Number((rows as { same: number | string }[])[0]!.same) === 1;
  }
});

function textRow(row: Record<string, unknown>): QueryRow {
  return Object.fromEntries(Object.entries(row).map(([name, value]) => [name, value === null || value === undefined ? null : String(value)]));
}
