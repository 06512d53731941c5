// A transaction compressed by one session (SET SESSION binlog_transaction_compression=ON while the
// global setting, which preflight checks, is OFF) reaches the binlog as one TRANSACTION_PAYLOAD event
// that zongji 0.9 cannot decode: it reports an error, emits no rows and reads on, its GTID set past
// the transaction. On the real MySQL 9.7 the daemon must stop there with a coded error (exit 78),
// with no checkpoint past the transaction and none of its rows written, and stop there again when
// restarted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { exitWithin, latestCheckpoint, makeWorkspace, startDaemon } from './helpers/daemon.ts';
import { gtidExecuted, startPrivateMySql, waitForMySqlCheckpoint } from './helpers/mysql-gtid.ts';
import { bySequence, readCommittedRows } from './helpers/warehouse.ts';

test('a session-compressed transaction stops the daemon with SLUICE_BINLOG_UNSUPPORTED_EVENT (exit 78), no checkpoint past it', { timeout: 120_000 }, async () => {
  // A server of its own: the compressed transaction stays in its binlog for good, where any other
  // test that reads the shared server's binlog from an earlier point would meet it.
  const server = await startPrivateMySql('compression');
  const tag = `cmp${Date.now() % 1_000_000}`;
  const db = await server.rootConnection();
  try {
    await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t (id INT PRIMARY KEY, v VARCHAR(20))`);
    const start = await gtidExecuted(server);
    const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']`, intervalSeconds: 0.3 });
    const daemon = startDaemon(workspace, server);
    await db.query(`INSERT INTO ${tag}.t VALUES (1, 'plain')`);
    await waitForMySqlCheckpoint(server, workspace, await gtidExecuted(server), daemon);

    const before = await gtidExecuted(server);
    await db.query('SET SESSION binlog_transaction_compression = ON');
    await db.query(`INSERT INTO ${tag}.t VALUES (2, 'compressed'), (3, 'compressed')`);
    await db.query('SET SESSION binlog_transaction_compression = OFF');
    const [[{ compressed }]] = (await db.query('SELECT GTID_SUBTRACT(@@GLOBAL.gtid_executed, ?) AS compressed', [before])) as unknown as [[{ compressed: string }]];
    // A plain transaction after it: a reader that stepped over the compressed one would write this row.
    await db.query(`INSERT INTO ${tag}.t VALUES (4, 'after')`);

    const exitCode = await exitWithin(daemon, 30_000, 'it read past a compressed transaction');
    const output = daemon.output();
    assert.equal(exitCode, 78, output.slice(-3000));
    assert.match(output, /SLUICE_BINLOG_UNSUPPORTED_EVENT/);
    assert.match(output, /sent a TRANSACTION_PAYLOAD_EVENT after .*binlog_transaction_compression is set on the server or for a session/);

    const checkpoint = (await latestCheckpoint(workspace))!;
    const [[{ passed }]] = (await db.query('SELECT GTID_SUBSET(?, ?) AS passed', [compressed.replace(/\n/g, ''), checkpoint.source.position.gtidSet ?? ''])) as unknown as [[{ passed: number }]];
    assert.equal(Number(passed), 0, `the checkpoint (${checkpoint.source.position.gtidSet}) must not contain the compressed transaction ${compressed}`);
    const rows = bySequence(await readCommittedRows(new LocalCatalog(workspace.catalogDir), new LocalFileSystem(workspace.warehouse), tag, 't'));
    assert.deepEqual(rows.map((row) => [row._op, row.id, row.v]), [['insert', '1', 'plain']], 'nothing of the compressed transaction or after it');

    // A restart reads from the same checkpoint and stops at the same transaction again.
    const again = startDaemon(workspace, server);
    assert.equal(await exitWithin(again, 30_000, 'a restart read past the compressed transaction'), 78, again.output().slice(-3000));
    assert.match(again.output(), /SLUICE_BINLOG_UNSUPPORTED_EVENT/);
    assert.deepEqual((await latestCheckpoint(workspace))!.source, checkpoint.source, 'the restart did not move the checkpoint');
  } finally {
    await db.end();
    await server.stop();
  }
});
