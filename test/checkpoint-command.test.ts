// `sluice checkpoint show` and `sluice checkpoint set` against the real daemon and the private MariaDB:
// set refuses while the daemon runs, and a daemon started after a set resumes at the new position.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import type { BinlogHiveRecord as CheckpointRecord } from '../src/pipeline/binlog-to-hive-record.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import type { MariaDbServer } from './servers/mariadb.ts';
import { type DaemonWorkspace, gtidBinlogPos, latestCheckpoint, makeWorkspace, runUntilCheckpoint, waitForCheckpoint, withDaemon } from './helpers/daemon.ts';
import { REPO_ROOT, testMariaDb } from './helpers/servers.ts';
import { bySequence, readCommittedRows } from './helpers/warehouse.ts';

function sluice(server: MariaDbServer, ...args: string[]) {
  return spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, SLUICE_TEST_PASSWORD: server.password },
  });
}

async function runUntilCaughtUp(server: MariaDbServer, workspace: DaemonWorkspace): Promise<void> {
  const { daemon, exit } = await runUntilCheckpoint(workspace, server, await gtidBinlogPos(server), 30_000);
  assert.deepEqual(exit, { code: 0, signal: null }, daemon.output().slice(-2000));
}

async function committedIds(workspace: DaemonWorkspace, database: string): Promise<number[]> {
  const rows = await readCommittedRows(new LocalCatalog(workspace.catalogDir), new LocalFileSystem(workspace.warehouse), database, 'items');
  return bySequence(rows).map((row) => Number(row.id));
}

describe('sluice checkpoint', () => {
  let server: MariaDbServer;
  const database = `cpset_${process.pid}`;
  before(async () => {
    server = await testMariaDb();
    const root = await server.rootConnection();
    await root.query(`CREATE DATABASE ${database}; CREATE TABLE ${database}.items (id INT PRIMARY KEY, note VARCHAR(20))`);
    await root.end();
  });

  async function insert(id: number): Promise<void> {
    const root = await server.rootConnection();
    await root.query(`INSERT INTO ${database}.items VALUES (?, ?)`, [id, `row ${id}`]);
    await root.end();
  }

  test('show without a checkpoint names the state dir and the configured start', () => {
    const workspace = makeWorkspace(server, { start: 'earliest', routing: `  include: ['${database}.*']` });
    const result = sluice(server, 'checkpoint', 'show', '--config', workspace.configFile);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /no checkpoint in .*state \(checkpoint\.dir\): the first start begins at source\.start, earliest/);
    assert.equal(sluice(server, 'checkpoint', 'show', '--config', workspace.configFile, '--json').stdout.trim(), 'null');
  });

  test('set refuses while the daemon runs; after a stop, --latest skips and --file replays', async () => {
    const workspace = makeWorkspace(server, { start: 'latest', routing: `  include: ['${database}.*']` });
    const { daemon, exit } = await withDaemon(workspace, server, async (daemon) => {
      // start: latest means "from when the daemon looked": row 1 must come after its first checkpoint.
      await waitForCheckpoint(workspace, await gtidBinlogPos(server), 30_000, daemon);
      await insert(1);
      await waitForCheckpoint(workspace, await gtidBinlogPos(server), 30_000, daemon);
      const refused = sluice(server, 'checkpoint', 'set', '--config', workspace.configFile, '--latest');
      assert.equal(refused.status, 1, refused.stderr);
      assert.match(refused.stderr, new RegExp(`in use by sluice process ${daemon.child.pid}\\b.*\\[SLUICE_STATE_LOCKED\\]`));
      const shown = sluice(server, 'checkpoint', 'show', '--config', workspace.configFile);
      assert.match(shown.stdout, new RegExp(`daemon: +running \\(pid ${daemon.child.pid}\\)`));
    });
    assert.deepEqual(exit, { code: 0, signal: null }, daemon.output().slice(-2000));
    const stopped = (await latestCheckpoint(workspace)) as CheckpointRecord;

    // Row 2 lands while the daemon is stopped; --latest moves past it, so it is never read.
    await insert(2);
    const moved = sluice(server, 'checkpoint', 'set', '--config', workspace.configFile, '--latest');
    assert.equal(moved.status, 0, moved.stderr);
    const head = await gtidBinlogPos(server);
    assert.match(moved.stdout, new RegExp(`checkpoint ${stopped.id + 1} written: the next start resumes at GTID ${head}`));
    const record = (await latestCheckpoint(workspace)) as CheckpointRecord;
    assert.equal(record.id, stopped.id + 1);
    assert.deepEqual(record.commits, []);
    assert.equal(record.source.nextSequence, stopped.source.nextSequence, 'the sequence goes on');
    assert.equal(record.source.position.gtidSet, head);
    const shown = sluice(server, 'checkpoint', 'show', '--config', workspace.configFile);
    assert.match(shown.stdout, new RegExp(`checkpoint ${record.id} in .*\\n.*\\n.*\\n  GTID: +${head}\\n  next sequence: +${stopped.source.nextSequence}\\n  pending commits: 0\\n  daemon: +not running`));
    const json = JSON.parse(sluice(server, 'checkpoint', 'show', '--config', workspace.configFile, '--json').stdout) as CheckpointRecord;
    assert.deepEqual(json, record);

    await insert(3);
    await runUntilCaughtUp(server, workspace);
    assert.deepEqual(await committedIds(workspace, database), [1, 3], 'row 2 was skipped, row 3 read after the move');

    // Back, by file and offset, to where the --latest move put it, just before row 3's transaction:
    // the daemon reads row 3 again (with a later _seq) and nothing before it.
    const { file, offset } = record.source.position;
    const back = sluice(server, 'checkpoint', 'set', '--config', workspace.configFile, '--file', file, '--position', String(offset));
    assert.equal(back.status, 0, back.stderr);
    assert.ok(back.stdout.includes(`resumes at ${file}:${offset} `), back.stdout);
    await runUntilCaughtUp(server, workspace);
    assert.deepEqual(await committedIds(workspace, database), [1, 3, 3]);
  });

  test('set names a binlog file the server lacks, an offset past the end, and conflicting options', async () => {
    const workspace = makeWorkspace(server, { start: 'latest', routing: `  include: ['${database}.*']` });
    const missing = sluice(server, 'checkpoint', 'set', '--config', workspace.configFile, '--file', 'mysql-bin.999999', '--position', '4');
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /--file mysql-bin\.999999 is not a binlog file on 127\.0\.0\.1:\d+; SHOW BINARY LOGS lists (\d+ files, )?mysql-bin\.000001.*\[SLUICE_CHECKPOINT_TARGET\]/);
    const past = sluice(server, 'checkpoint', 'set', '--config', workspace.configFile, '--file', 'mysql-bin.000001', '--position', '999999999999');
    assert.match(past.stderr, /--position 999999999999 is past the end of mysql-bin\.000001/);
    const both = sluice(server, 'checkpoint', 'set', '--config', workspace.configFile, '--latest', '--gtid', '0-1-1');
    assert.match(both.stderr, /give exactly one of .* \(got --gtid, --latest\)/);
    const noPosition = sluice(server, 'checkpoint', 'set', '--config', workspace.configFile, '--file', 'mysql-bin.000001');
    assert.match(noPosition.stderr, /--file mysql-bin\.000001 needs --position N/);
    const badGtid = sluice(server, 'checkpoint', 'set', '--config', workspace.configFile, '--gtid', 'abc');
    assert.match(badGtid.stderr, /--gtid 'abc' is not a MariaDB GTID position/);
    assert.equal(await latestCheckpoint(workspace), undefined, 'nothing was written');
  });
});
