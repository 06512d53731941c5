// snapshot.mode: when_needed (docs/snapshot.md): when the server has purged the binlog the checkpoint
// resumes from, the daemon starts at the binlog's end and reads every captured table again after a
// truncate marker, instead of stopping; the tables' current-state views then equal the source, with
// the changes made in the purged stretch (a delete among them) accounted for. With `initial`, the
// same purge stays the SLUICE_BINLOG_POSITION_PURGED stop (exit 78).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type mysql from 'mysql2/promise';
import { latestCheckpoint, makeWorkspace, startDaemon, stopDaemon } from './helpers/daemon.ts';
import { assertCurrentIsSource, assertReadAfterOneMarker, rowsSql, settled, TABLE } from './helpers/snapshot-later.ts';
import { purgeBinlogsTo } from './helpers/purge-binlogs.ts';
import { changesOf } from './helpers/stopped-changes.ts';
import { startMariaDb } from './servers/mariadb.ts';

/** Purges every binlog file before a fresh one. */
async function purgeAll(db: mysql.Connection): Promise<void> {
  await db.query('FLUSH BINARY LOGS');
  const [status] = (await db.query('SHOW MASTER STATUS')) as unknown as [{ File: string }[]];
  await purgeBinlogsTo(db, status[0]!.File);
}

test('when_needed: a purged checkpoint position is read again as a snapshot instead of stopping; initial still stops', { timeout: 180_000 }, async () => {
  const server = await startMariaDb({ dir: mkdtempSync(join(tmpdir(), 'sluice-when-needed-')) });
  try {
    const db = await server.rootConnection();
    await db.query(`CREATE DATABASE shop; CREATE TABLE shop.t ${TABLE}; CREATE TABLE shop.u ${TABLE}`);
    await db.query(`${rowsSql('shop.t', 40, 't')}; ${rowsSql('shop.u', 12, 'u')}`);
    const workspace = makeWorkspace(server, { start: 'latest', routing: "  include: ['shop.*']", intervalSeconds: 0.2, extra: 'snapshot:\n  mode: when_needed\n  chunkRows: 7\n' });
    let daemon = startDaemon(workspace, server);
    await settled(workspace, server, daemon);
    await db.query("UPDATE shop.t SET v = 'streamed' WHERE id = 2");
    await settled(workspace, server, daemon);
    assert.equal((await stopDaemon(daemon)).code, 0, daemon.output().slice(-2000));
    const before = (await latestCheckpoint(workspace))!;

    // While the daemon is down: changes, then the binlog that holds them is purged.
    await db.query("DELETE FROM shop.t WHERE id <= 3; UPDATE shop.t SET v = 'lost-upd' WHERE id = 10; INSERT INTO shop.t VALUES (100, 'lost-new'); DELETE FROM shop.u WHERE id = 1");
    await purgeAll(db);
    await db.query("INSERT INTO shop.u VALUES (50, 'after-purge')");

    // Without when_needed: the purge is the error it always was.
    const config = readFileSync(workspace.configFile, 'utf8');
    writeFileSync(workspace.configFile, config.replace('mode: when_needed', 'mode: initial'));
    const refused = startDaemon(workspace, server);
    assert.equal((await refused.exited).code, 78, refused.output().slice(-2000));
    assert.match(refused.output(), /SLUICE_BINLOG_POSITION_PURGED/);
    writeFileSync(workspace.configFile, config);

    daemon = startDaemon(workspace, server);
    try {
      await settled(workspace, server, daemon);
      await db.query("UPDATE shop.t SET v = 'after-restart' WHERE id = 20; DELETE FROM shop.u WHERE id = 2");
      await settled(workspace, server, daemon);
      assert.match(daemon.output(), /the checkpoint's position is purged on the server; snapshot\.mode when_needed/);
      for (const table of ['t', 'u']) await assertCurrentIsSource(workspace, server, db, 'shop', table, `shop.${table}`);
      const t = await changesOf(workspace, 'shop', 't');
      const firstRun = t.findIndex((line) => line.startsWith('truncate '));
      assertReadAfterOneMarker(t.slice(firstRun), 't, read again');
      // The new rows sort after what the changelog held: the numbering went on above the record's.
      const record = (await latestCheckpoint(workspace))!;
      assert.ok(BigInt(record.source.nextSequence) > BigInt(before.source.nextSequence) + 40n, `${record.source.nextSequence} > ${before.source.nextSequence} + 40`);
    } finally {
      await stopDaemon(daemon);
    }
    await db.end();
  } finally {
    await server.stop();
  }
});
