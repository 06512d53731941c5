// Times never pass through the process time zone: the same binlog gives the same rows, partitions
// and files under TZ=Asia/Shanghai and TZ=UTC (the "+8h" complaint of canal and Flink CDC users).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { type DaemonWorkspace, gtidBinlogPos, makeWorkspace, runUntilCheckpoint } from './helpers/daemon.ts';
import { testMariaDb } from './helpers/servers.ts';
import { bySequence, readCommittedRows } from './helpers/warehouse.ts';

test('the same binlog gives identical rows under TZ=Asia/Shanghai and TZ=UTC', { timeout: 120_000 }, async () => {
  const server = await testMariaDb();
  const db = await server.rootConnection();
  const tag = `tz${Date.now() % 1_000_000}`;
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t (id INT PRIMARY KEY, dtm DATETIME(6), ts TIMESTAMP(6) NULL, d DATE, tm TIME(3))`);
  const start = await gtidBinlogPos(server);
  // The session zone of the writer must not matter either: TIMESTAMP is stored as a UTC instant.
  await db.query(`SET time_zone = '+08:00'`);
  await db.query(`INSERT INTO ${tag}.t VALUES
    (1, '2026-01-01 00:30:00.000001', '2026-01-01 00:30:00.000001', '2026-01-01', '23:59:59.999'),
    (2, '2025-12-31 23:59:59.999999', '2026-03-29 02:30:00.5', '0000-00-00', '-838:59:59.000'),
    (3, '0000-00-00 00:00:00', NULL, '1970-01-01', '00:00:00.000')`);
  const end = await gtidBinlogPos(server);
  await db.end();

  const run = async (timeZone: string): Promise<{ workspace: DaemonWorkspace; rows: unknown[] }> => {
    const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']`, intervalSeconds: 0.3 });
    await runUntilCheckpoint(workspace, server, end, 30_000, { env: { TZ: timeZone } });
    const rows = bySequence(await readCommittedRows(new LocalCatalog(workspace.catalogDir), new LocalFileSystem(workspace.warehouse), tag, 't'));
    return { workspace, rows: rows.map(({ _event_time, ...row }) => ({ ...row, _event_time })) };
  };
  const shanghai = await run('Asia/Shanghai');
  const utc = await run('UTC');
  assert.deepEqual(shanghai.rows, utc.rows);
  assert.deepEqual(
    shanghai.rows.map((row) => {
      const { id, dtm, ts, d, tm } = row as Record<string, string | null>;
      return [id, dtm, ts, d, tm];
    }),
    [
      ['1', '2026-01-01 00:30:00.000001', '2025-12-31 16:30:00.000001', '2026-01-01', '23:59:59.999'],
      ['2', '2025-12-31 23:59:59.999999', '2026-03-28 18:30:00.500000', '0000-00-00', '-838:59:59.000'],
      ['3', '0000-00-00 00:00:00.000000', null, '1970-01-01', '00:00:00.000'],
    ],
  );
});
