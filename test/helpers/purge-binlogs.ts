// Purging a server's binlog up to a file (MariaDB or MySQL), for tests of a purged checkpoint position.
import assert from 'node:assert/strict';
import type mysql from 'mysql2/promise';

/**
 * Purges every binlog file before `file`. MariaDB keeps a file that InnoDB's crash recovery may
 * still need (its binlog checkpoint lags the commit a little), so purge until the files before it
 * are really gone.
 */
export async function purgeBinlogsTo(db: mysql.Connection, file: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    await db.query(`PURGE BINARY LOGS TO '${file}'`);
    const [logs] = (await db.query('SHOW BINARY LOGS')) as unknown as [{ Log_name: string }[]];
    if (logs[0]?.Log_name === file) return;
    assert.ok(attempt < 100, `binlogs before ${file} could not be purged: ${logs.map((log) => log.Log_name).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
