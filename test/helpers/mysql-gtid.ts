// MySQL's GTID sets ('uuid:1-77,uuid2:1-5') for the daemon fixtures: MySQL itself says whether one
// set contains another (GTID_SUBSET), so no test parses them.
import assert from 'node:assert/strict';
import type { BinlogHiveRecord as CheckpointRecord } from '../../src/pipeline/binlog-to-hive-record.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMySql, type MySqlOptions, type MySqlServer } from '../servers/mysql.ts';
import { latestCheckpoint, withDaemon, type DaemonWorkspace, type RunningDaemon } from './daemon.ts';

export async function gtidExecuted(server: MySqlServer): Promise<string> {
  const connection = await server.rootConnection();
  try {
    const [rows] = await connection.query('SELECT @@GLOBAL.gtid_executed AS executed');
    return (rows as { executed: string }[])[0]!.executed.replace(/\n/g, '');
  } finally {
    await connection.end();
  }
}

/** Waits until a checkpoint's GTID set contains `wanted`. */
export async function waitForMySqlCheckpoint(server: MySqlServer, workspace: DaemonWorkspace, wanted: string, daemon: RunningDaemon, timeoutMs = 60_000): Promise<CheckpointRecord> {
  const connection = await server.rootConnection();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const record = await latestCheckpoint(workspace);
      const gtidSet = record?.source.position.gtidSet;
      if (record && gtidSet !== undefined) {
        const [rows] = await connection.query('SELECT GTID_SUBSET(?, ?) AS covered', [wanted, gtidSet]);
        if (Number((rows as { covered: number | string }[])[0]!.covered) === 1) return record;
      }
      if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) assert.fail(`the daemon exited before a checkpoint reached ${wanted}:\n${daemon.output().slice(-3000)}`);
      if (Date.now() > deadline) assert.fail(`no checkpoint reached ${wanted} in ${timeoutMs} ms (newest: ${JSON.stringify(record?.source)}):\n${daemon.output().slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await connection.end();
  }
}

/** A MySQL of the test's own (a replica, gtid_mode=OFF, binlogs to purge), its folder removed when it stops. */
export async function startPrivateMySql(name: string, options: Omit<MySqlOptions, 'dir'> = {}): Promise<MySqlServer> {
  const dir = mkdtempSync(join(tmpdir(), `sluice-${name}-`));
  const server = await startMySql({ ...options, dir });
  return { ...server, stop: async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  } };
}

/** Runs the daemon until a checkpoint holds everything the server has executed, then stops it cleanly. */
export async function runUntilMySqlCaughtUp(workspace: DaemonWorkspace, server: MySqlServer): Promise<RunningDaemon> {
  const { daemon, exit } = await withDaemon(workspace, server, async (running) => waitForMySqlCheckpoint(server, workspace, await gtidExecuted(server), running));
  assert.equal(exit.code, 0, daemon.output().slice(-3000));
  return daemon;
}
