// snapshot.mode: when_needed (docs/snapshot.md) on Oracle MySQL 9.7 with gtid_mode=ON: the scenario of
// test/snapshot-when-needed.test.ts (test/helpers/when-needed.ts), where the purge is found by
// @@gtid_purged not being contained in the checkpoint's GTID set (position-available.ts). With
// `initial` the start stops with SLUICE_BINLOG_POSITION_PURGED; with `when_needed` it starts at the
// binlog's end, reads both tables again after a marker each, and the current state equals the source.
import { test } from 'node:test';
import { gtidExecuted, startPrivateMySql, waitForMySqlCheckpoint } from './helpers/mysql-gtid.ts';
import { whenNeededAfterPurge } from './helpers/when-needed.ts';

test('MySQL 9.7 when_needed: a purged checkpoint GTID set is read again as a snapshot instead of stopping; initial still stops', { timeout: 240_000 }, async () => {
  // A private server: purging the shared one's binlogs would take other tests' positions away.
  const server = await startPrivateMySql('when-needed');
  try {
    await whenNeededAfterPurge(server, (workspace, daemon) => async () => waitForMySqlCheckpoint(server, workspace, await gtidExecuted(server), daemon));
  } finally {
    await server.stop();
  }
});
