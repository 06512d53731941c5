// The `snapshot.mode: when_needed` scenario (docs/snapshot.md), run on MariaDB and on MySQL 9.7 by
// test/snapshot-when-needed*.test.ts: changes made while the daemon is down land in a binlog that is
// then purged; `initial` stops with SLUICE_BINLOG_POSITION_PURGED (exit 78), `when_needed` starts at
// the binlog's end and reads every captured table again after a truncate marker, and the tables'
// current-state views then equal the source.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import type mysql from 'mysql2/promise';
import type { MariaDbServer } from '../servers/mariadb.ts';
import { latestCheckpoint, makeWorkspace, startDaemon, stopDaemon, type DaemonWorkspace, type RunningDaemon } from './daemon.ts';
import { purgeBinlogsTo } from './purge-binlogs.ts';
import { assertCurrentIsSource, assertReadAfterOneMarker, rowsSql, settled, TABLE } from './snapshot-later.ts';
import { changesOf } from './stopped-changes.ts';

/** How a server's test waits for a checkpoint at the binlog's end; undefined: MariaDB's default (its GTID position). */
export type CheckpointAtEnd = (workspace: DaemonWorkspace, daemon: RunningDaemon) => () => Promise<unknown>;

/** Purges every binlog file before a fresh one (SHOW BINARY LOGS lists the current file last on either server). */
async function purgeAll(db: mysql.Connection): Promise<void> {
  await db.query('FLUSH BINARY LOGS');
  const [logs] = (await db.query('SHOW BINARY LOGS')) as unknown as [{ Log_name: string }[]];
  await purgeBinlogsTo(db, logs.at(-1)!.Log_name);
}

export async function whenNeededAfterPurge(server: MariaDbServer, checkpointAtEnd?: CheckpointAtEnd): Promise<void> {
  const db = await server.rootConnection();
  await db.query(`CREATE DATABASE shop; CREATE TABLE shop.t ${TABLE}; CREATE TABLE shop.u ${TABLE}`);
  await db.query(`${rowsSql('shop.t', 40, 't')}; ${rowsSql('shop.u', 12, 'u')}`);
  const workspace = makeWorkspace(server, { start: 'latest', routing: "  include: ['shop.*']", intervalSeconds: 0.2, extra: 'snapshot:\n  mode: when_needed\n  chunkRows: 7\n' });
  const settle = (daemon: RunningDaemon) => settled(workspace, server, daemon, checkpointAtEnd?.(workspace, daemon));
  let daemon = startDaemon(workspace, server);
  await settle(daemon);
  await db.query("UPDATE shop.t SET v = 'streamed' WHERE id = 2");
  await settle(daemon);
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
    await settle(daemon);
    await db.query("UPDATE shop.t SET v = 'after-restart' WHERE id = 20; DELETE FROM shop.u WHERE id = 2");
    await settle(daemon);
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
}
