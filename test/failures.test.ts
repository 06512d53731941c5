// Failures that must name themselves: a full disk, a directory sluice may not write, a port that is
// not MySQL, a server id another replica uses, a stop while waiting to retry. Each is a coded error
// naming the config key, in the JSON log as well as on stderr, and the exit code says whether a
// restart can help (78: it cannot, so systemd's RestartPreventExitStatus=78 stops there).
//
// The disks are real: a small tmpfs mounted in a private mount namespace of the daemon
// (`unshare -m`), so the mount dies with the daemon and nothing leaks; the test reaches inside it
// through /proc/<pid>/root.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { CheckpointStore } from '../src/checkpoint/checkpoint-store.ts';
import { isSluiceError, SluiceError } from '../src/core/errors.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { withRetry } from '../src/core/retry.ts';
import { preflight } from '../src/sources/binlog/server/preflight.ts';
import { requireServerIdFree } from '../src/sources/binlog/server/server-id.ts';
import { exitWithin, fatalLine, gtidBinlogPos, gtidSeq, latestIn, makeWorkspace, startDaemon, startSluice, until, type DaemonWorkspace, type RunningDaemon } from './helpers/daemon.ts';
import { fill, holdTmpfs, inside, onTmpfs } from './helpers/private-disk.ts';
import { SOURCE_TABLE_DDL, compareRows, fillSourceTable, hiveTypesOf, readTableRows, readTargetFiles, writeJobFile } from './helpers/sync-fixture.ts';
import { registerFakeReplica } from './helpers/fake-replica.ts';
import { testMariaDb } from './helpers/servers.ts';
import { readCommittedRows } from './helpers/warehouse.ts';
import { freePort, SLUICE_PASSWORD, SLUICE_USER, type MariaDbServer } from './servers/mariadb.ts';

describe('failures that name themselves', () => {
  let server: MariaDbServer;

  const workspaceFor = async (database: string): Promise<DaemonWorkspace> => {
    server = await testMariaDb();
    const root = await server.rootConnection();
    await root.query(`CREATE DATABASE IF NOT EXISTS ${database}; CREATE TABLE IF NOT EXISTS ${database}.t (id INT PRIMARY KEY, body MEDIUMTEXT)`);
    await root.end();
    return makeWorkspace(server, { start: 'latest', routing: `  include: ['${database}.*']`, intervalSeconds: 0.5 });
  };

  for (const [place, configKey] of [
    ['warehouse', 'sink.filesystem.root'],
    ['stateDir', 'checkpoint.dir'],
  ] as const) {
    test(`a full disk under ${configKey} is named, waited out in process, and nothing is lost or doubled`, { timeout: 180_000 }, async () => {
      const database = `full_${place.toLowerCase()}`;
      const workspace = await workspaceFor(database);
      const daemon = startDaemon(workspace, server, [], {}, onTmpfs([{ dir: workspace[place], options: 'size=4m' }]));
      // The checkpoints as the daemon writes them (inside its namespace when the state dir is the tmpfs).
      const store = () => new CheckpointStore(place === 'stateDir' ? inside(daemon, workspace.stateDir) : workspace.stateDir);
      try {
        await until('first checkpoint', daemon, () => store().latest().catch(() => undefined));
        const filler = fill(inside(daemon, workspace[place]));
        const db = await server.rootConnection();
        for (let id = 1; id <= 20; id++) await db.query(`INSERT INTO ${database}.t VALUES (?, REPEAT('x', 50000))`, [id]);
        const head = await gtidBinlogPos(server);
        await db.end();
        // Retried in process: the same pid logs the named error at least twice and is still running.
        await until('two retries of the full disk', daemon, () => (daemon.output().match(/"code":"SLUICE_DISK_FULL"/g) ?? []).length >= 2 || undefined);
        const logged = daemon.output();
        assert.match(logged, new RegExp(`the disk holding ${workspace[place]} \\(${configKey.replace('.', '\\.')}\\) is full \\(ENOSPC`));
        assert.match(logged, /"retriable":true/);
        assert.doesNotMatch(logged, /unexpected error/);
        assert.equal(daemon.child.exitCode, null, 'the daemon waits, it does not exit');
        rmSync(filler);
        const record = await until(
          'a checkpoint past the inserts',
          daemon,
          async () => {
            const latest = await latestIn(store());
            return gtidSeq(latest?.source.position.gtidSet) >= gtidSeq(head) ? latest : undefined;
          },
          120_000,
        );
        const warehouse = place === 'warehouse' ? inside(daemon, workspace.warehouse) : workspace.warehouse;
        // The checkpoint counts from its record, and its renames follow: a reader sees the rows once they are done.
        const renamedTo = record.commits.flatMap((commit) => (commit.kind === 'rename' ? [commit.to] : []));
        await until("the checkpoint's renames", daemon, () => renamedTo.every((to) => existsSync(join(warehouse, to))) || undefined);
        // The rows may have been committed by an earlier record whose partition the catalog registers
        // after its renames: wait until 20 rows read, then ask for exactly ids 1..20, each once.
        const rows = await until('the committed rows', daemon, async () => {
          const read = await readCommittedRows(new LocalCatalog(workspace.catalogDir), new LocalFileSystem(warehouse), database, 't');
          return read.length >= 20 ? read : undefined;
        });
        assert.deepEqual(rows.map((row) => Number(row.id)).sort((a, b) => a - b), Array.from({ length: 20 }, (_, index) => index + 1));
        daemon.child.kill('SIGTERM');
        assert.equal(await exitWithin(daemon, 60_000), 0);
      } finally {
        daemon.child.kill('SIGKILL');
        await daemon.exited;
      }
      assert.ok(!existsSync(join(workspace[place], '.filler')), 'the tmpfs was private to the daemon');
    });
  }

  for (const [place, configKey] of [
    ['warehouse', 'sink.filesystem.root'],
    ['stateDir', 'checkpoint.dir'],
  ] as const) {
    test(`a read-only ${configKey} stops the start with 78, naming the key, in the JSON log too`, { timeout: 60_000 }, async () => {
      const workspace = await workspaceFor('readonly_dirs');
      // Root may write anywhere the mode bits say no; a read-only mount it may not.
      const daemon = startDaemon(workspace, server, [], {}, onTmpfs([{ dir: workspace[place], options: 'ro,size=1m' }]));
      assert.equal(await exitWithin(daemon, 30_000), 78, daemon.output().slice(-3000));
      assert.match(daemon.output(), new RegExp(`sluice cannot write in ${workspace[place]} \\(${configKey.replace('.', '\\.')}\\): EROFS`));
      assert.match(daemon.output(), /ReadWritePaths=/);
      const fatal = fatalLine(daemon);
      assert.equal(fatal.code, 'SLUICE_DIR_UNWRITABLE');
      assert.equal(fatal.exitCode, 78);
      assert.match(fatal.msg, new RegExp(configKey.replace('.', '\\.')));
    });
  }

  test('a port that answers HTTP is named as not a MySQL server, and the daemon exits 78', { timeout: 60_000 }, async () => {
    const http = createServer((_request, response) => response.end('not mysql\n'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
    const port = (http.address() as AddressInfo).port;
    try {
      await assert.rejects(preflight({ host: '127.0.0.1', port, user: 'sluice', password: 'x', connectTimeoutMs: 1000 }), (error: unknown) => {
        assert.ok(isSluiceError(error, 'SLUICE_NOT_MYSQL'), String(error));
        assert.equal(error.retriable, false);
        assert.match(error.message, new RegExp(`^127\\.0\\.0\\.1:${port} \\(source\\.host, source\\.port\\) is not a MySQL server: it answered "HTTP/1\\.1 400`));
        return true;
      });
      const workspace = await workspaceFor('not_mysql');
      const { readFileSync, writeFileSync } = await import('node:fs');
      writeFileSync(workspace.configFile, readFileSync(workspace.configFile, 'utf8').replace(`port: ${server.port}`, `port: ${port}\n  connectTimeoutMs: 1000`));
      const daemon = startDaemon(workspace, server);
      assert.equal(await exitWithin(daemon, 30_000), 78, daemon.output().slice(-3000));
      assert.match(daemon.output(), /is not a MySQL server/);
      assert.equal(fatalLine(daemon).code, 'SLUICE_NOT_MYSQL');
    } finally {
      http.closeAllConnections();
      http.close();
    }
  });

  test('a registered replica with source.serverId is found before the dump', { timeout: 60_000 }, async () => {
    server = await testMariaDb();
    const serverId = 900_000 + Math.floor(Math.random() * 1000);
    const replica = await registerFakeReplica(server, serverId, 'replica-7.example', 3307);
    const root = await server.rootConnection();
    try {
      await assert.rejects(requireServerIdFree(root, `127.0.0.1:${server.port}`, serverId), (error: unknown) => {
        assert.ok(isSluiceError(error, 'SLUICE_SERVER_ID_IN_USE'), String(error));
        assert.match(error.message, new RegExp(`source\\.serverId ${serverId} is taken: a replica on replica-7\\.example:3307 is connected`));
        return true;
      });
      assert.equal(await requireServerIdFree(root, `127.0.0.1:${server.port}`, serverId + 1), 'checked');
      const [[own]] = (await root.query('SELECT @@server_id AS id')) as unknown as [[{ id: number }]];
      await assert.rejects(requireServerIdFree(root, 'mariadb', Number(own.id)), /is the server id of mariadb itself/);
    } finally {
      await root.end();
      await replica.close();
    }
  });

  test('two daemons on one source.serverId: the one knocked off exits 78 naming the key, the other goes on', { timeout: 120_000 }, async () => {
    const first = await workspaceFor('same_server_id');
    const second = makeWorkspace(server, { start: 'latest', routing: "  include: ['same_server_id.*']", intervalSeconds: 0.5 });
    const { readFileSync, writeFileSync } = await import('node:fs');
    const serverId = /serverId: (\d+)/.exec(readFileSync(first.configFile, 'utf8'))![1]!;
    writeFileSync(second.configFile, readFileSync(second.configFile, 'utf8').replace(/serverId: \d+/, `serverId: ${serverId}`));
    const a = startDaemon(first, server);
    let b: RunningDaemon | undefined;
    try {
      await until('first daemon streaming', a, () => new CheckpointStore(first.stateDir).latest().catch(() => undefined));
      b = startDaemon(second, server);
      assert.equal(await exitWithin(a, 60_000), 78, a.output().slice(-3000));
      assert.match(a.output(), new RegExp(`source\\.serverId ${serverId} is taken: another replica connected to 127\\.0\\.0\\.1:${server.port} with it`));
      assert.equal(fatalLine(a).code, 'SLUICE_SERVER_ID_IN_USE');
      // The other one keeps its stream: a row written now reaches its checkpoint.
      const db = await server.rootConnection();
      await db.query("INSERT INTO same_server_id.t VALUES (1, 'after')");
      const head = await gtidBinlogPos(server);
      await db.end();
      const running = b;
      await until('second daemon past the insert', running, async () => gtidSeq((await latestIn(new CheckpointStore(second.stateDir)))?.source.position.gtidSet) >= gtidSeq(head) || undefined);
      assert.doesNotMatch(running.output(), /SLUICE_SERVER_ID_IN_USE/);
      running.child.kill('SIGTERM');
      assert.equal(await exitWithin(running, 60_000), 0);
    } finally {
      a.child.kill('SIGKILL');
      b?.child.kill('SIGKILL');
    }
  });

  test('a stop asked for while waiting to retry is a clean stop (exit 0), at once', { timeout: 60_000 }, async () => {
    const workspace = await workspaceFor('stop_in_retry');
    const { readFileSync, writeFileSync } = await import('node:fs');
    writeFileSync(workspace.configFile, readFileSync(workspace.configFile, 'utf8').replace(`port: ${server.port}`, `port: ${await freePort()}`));
    const daemon = startDaemon(workspace, server);
    // The fourth wait is 4 to 8 s long, well beyond the few ms a clean stop takes.
    await until('the daemon waiting for its fourth retry', daemon, () => /"attempt":4,/.test(daemon.output()) || undefined);
    daemon.child.kill('SIGINT');
    assert.equal(await exitWithin(daemon, 3000), 0, daemon.output().slice(-2000));
    assert.match(daemon.output(), /stopped while waiting to retry/);
  });

  describe('sluice sync', () => {
    const table = 'sync_disk.t';
    const sourceTable = async (): Promise<void> => {
      server = await testMariaDb();
      const root = await server.rootConnection();
      await root.query('CREATE DATABASE IF NOT EXISTS sync_disk');
      const [found] = await root.query("SHOW TABLES IN sync_disk LIKE 't'");
      if ((found as unknown[]).length === 0) {
        await root.query(SOURCE_TABLE_DDL(table));
        await fillSourceTable(root, table, 20_000);
      }
      await root.end();
    };
    const jobFile = (dir: string, name: string, out: string): string =>
      writeJobFile(dir, {
        name,
        source: { host: '127.0.0.1', port: server.port, user: SLUICE_USER, password: SLUICE_PASSWORD, table, key: 'id', pageRows: 500 },
        writer: { kind: 'local', path: out, mode: 'overwrite', rollBytes: 65_536 },
        checkpoint: { dir: join(dir, 'state'), intervalSeconds: 0.2 },
      });

    test('a full disk under writer.path is named, waited out in process from the copy\'s checkpoint, and the target ends exact', { timeout: 180_000 }, async () => {
      await sourceTable();
      const dir = mkdtempSync(join(tmpdir(), 'sluice-sync-full-'));
      const out = join(dir, 'out');
      // The copy (about 4 MB of text) fills a 1 MB disk by itself; the namespace outlives the copy, so its target can be read after.
      const disk = await holdTmpfs([{ dir: out, options: 'size=1m' }]);
      const copy = startSluice(['sync', '--job', jobFile(dir, 'full', out), '--no-progress'], { cwd: dir, prefix: disk.prefix });
      try {
        await until('two retries of the full disk', copy, () => (copy.output().match(/"code":"SLUICE_DISK_FULL"/g) ?? []).length >= 2 || undefined, 120_000);
        const logged = copy.output();
        assert.match(logged, new RegExp(`the disk holding ${out} \\(writer\\.path\\) is full \\(ENOSPC`));
        assert.match(logged, /"retriable":true/);
        assert.doesNotMatch(logged, /unexpected error/);
        assert.equal(copy.child.exitCode, null, 'the copy waits, it does not exit');
        disk.grow(out, '64m');
        assert.equal(await exitWithin(copy, 120_000), 0, copy.output().slice(-3000));
        // The same process went on from the copy's last checkpoint, not from a new copy.
        assert.match(copy.output(), /resuming full from checkpoint \d+/);
        assert.match(copy.output(), /full done: 20000 rows/);
        const root = await server.rootConnection();
        const [source, hiveTypes] = [await readTableRows(root, table), await hiveTypesOf(root, table)];
        await root.end();
        const target = await readTargetFiles(new LocalFileSystem('/'), disk.inside(out), hiveTypes);
        assert.equal(compareRows(source, target.rows), undefined);
        assert.equal(target.rows.length, 20_000);
      } finally {
        copy.child.kill('SIGKILL');
        await copy.exited;
        await disk.close();
      }
    });

    for (const [place, configKey] of [
      ['state', 'checkpoint.dir'],
      ['out', 'writer.path'],
    ] as const) {
      test(`a read-only ${configKey} stops the copy at its start with 78, naming the key, in the JSON log too`, { timeout: 60_000 }, async () => {
        await sourceTable();
        const dir = mkdtempSync(join(tmpdir(), 'sluice-sync-ro-'));
        const copy = startSluice(['sync', '--job', jobFile(dir, 'readonly', join(dir, 'out')), '--no-progress'], { cwd: dir, prefix: onTmpfs([{ dir: join(dir, place), options: 'ro,size=1m' }]) });
        assert.equal(await exitWithin(copy, 30_000), 78, copy.output().slice(-3000));
        assert.match(copy.output(), new RegExp(`sluice cannot write in ${join(dir, place)} \\(${configKey.replace('.', '\\.')}\\): EROFS`));
        const fatal = fatalLine(copy);
        assert.equal(fatal.code, 'SLUICE_DIR_UNWRITABLE');
        assert.equal(fatal.exitCode, 78);
      });
    }
  });
});

test('withRetry waits out an error it is told outlasts maxAttempts (a full disk), and no other', async () => {
  const logger = pino({ level: 'silent' });
  const full = new SluiceError('SLUICE_DISK_FULL', 'full', { retriable: true });
  const down = new SluiceError('SLUICE_MYSQL_UNREACHABLE', 'down', { retriable: true });
  const options = { initialDelayMs: 1, maxDelayMs: 1, maxAttempts: 2, outlasts: (error: unknown) => isSluiceError(error, 'SLUICE_DISK_FULL'), logger };
  let calls = 0;
  assert.equal(await withRetry(async () => (++calls < 6 ? Promise.reject(full) : 'done'), options), 'done');
  assert.equal(calls, 6);
  calls = 0;
  await assert.rejects(withRetry(async () => (++calls < 6 ? Promise.reject(down) : 'done'), options), /down/);
  assert.equal(calls, 2);
});
