// snapshot.mode: when_needed (docs/snapshot.md) on MariaDB: when the server has purged the binlog the
// checkpoint resumes from, the daemon starts at the binlog's end and reads every captured table again
// after a truncate marker, instead of stopping; the tables' current-state views then equal the source,
// with the changes made in the purged stretch (a delete among them) accounted for. With `initial`, the
// same purge stays the SLUICE_BINLOG_POSITION_PURGED stop (exit 78). The scenario is
// test/helpers/when-needed.ts, shared with test/snapshot-when-needed-mysql.test.ts.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { whenNeededAfterPurge } from './helpers/when-needed.ts';
import { startMariaDb } from './servers/mariadb.ts';

test('when_needed: a purged checkpoint position is read again as a snapshot instead of stopping; initial still stops', { timeout: 180_000 }, async () => {
  const server = await startMariaDb({ dir: mkdtempSync(join(tmpdir(), 'sluice-when-needed-')) });
  try {
    await whenNeededAfterPurge(server);
  } finally {
    await server.stop();
  }
});
