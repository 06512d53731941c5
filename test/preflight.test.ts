// Bad input gives a clear error that names what is wrong and how to fix it, before any event is read.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isSluiceError, type ErrorCode } from '../src/core/errors.ts';
import { preflight } from '../src/sources/binlog/server/preflight.ts';
import { freePort, startMariaDb, type MariaDbServer } from './servers/mariadb.ts';
import { REPO_ROOT, TEST_MARIADB_DIR, testMariaDb } from './helpers/servers.ts';

function connectionTo(server: MariaDbServer, overrides: { user?: string; password?: string; port?: number } = {}) {
  return {
    host: '127.0.0.1',
    port: overrides.port ?? server.port,
    user: overrides.user ?? server.user,
    password: overrides.password ?? server.password,
    connectTimeoutMs: 5000,
  };
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, ...fragments: string[]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isSluiceError(error, code), `expected ${code}, got ${String(error)}`);
    for (const fragment of fragments) assert.match(error.message, new RegExp(fragment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    return true;
  });
}

describe('preflight against a real MariaDB', () => {
  let server: MariaDbServer;
  before(async () => {
    server = await testMariaDb();
  });

  test('a server that fits passes and reports its GTID position and binlog files', async () => {
    const facts = await preflight(connectionTo(server));
    assert.equal(facts.isMariaDb, true);
    assert.equal(facts.hasGtid, true);
    assert.ok(facts.binlogFiles.length > 0);
    assert.match(facts.head.file, /^mysql-bin\.\d+$/);
  });

  test('an unreachable server is named by host:port', async () => {
    const port = await freePort();
    await rejectsWith(preflight(connectionTo(server, { port })), 'SLUICE_MYSQL_UNREACHABLE', `127.0.0.1:${port}`, 'source.host');
  });

  test('a wrong password names the user and the config keys', async () => {
    await rejectsWith(preflight(connectionTo(server, { password: 'wrong' })), 'SLUICE_MYSQL_ACCESS_DENIED', "user 'sluice'", 'source.password');
  });

  test('a user without REPLICATION SLAVE/CLIENT is told which grants to add', async () => {
    const root = await server.rootConnection();
    await root.query("CREATE OR REPLACE USER 'noreplica'@'127.0.0.1' IDENTIFIED BY 'pw'; GRANT SELECT ON *.* TO 'noreplica'@'127.0.0.1'");
    await root.end();
    await rejectsWith(
      preflight(connectionTo(server, { user: 'noreplica', password: 'pw' })),
      'SLUICE_MYSQL_PRIVILEGE_MISSING',
      'REPLICATION SLAVE and REPLICATION CLIENT',
      "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'noreplica'",
    );
  });

  for (const [variable, bad, fix] of [
    ['binlog_format', 'MIXED', 'binlog_format=ROW'],
    ['binlog_row_image', 'MINIMAL', 'binlog_row_image=FULL'],
    ['binlog_row_metadata', 'NO_LOG', 'binlog_row_metadata=FULL (or MINIMAL)'],
  ] as const) {
    test(`${variable}=${bad} names the variable and the fix`, async () => {
      const root = await server.rootConnection();
      const [[row]] = (await root.query(`SELECT @@GLOBAL.${variable} AS value`)) as unknown as [[{ value: string }]];
      await root.query(`SET GLOBAL ${variable} = '${bad}'`);
      try {
        await rejectsWith(preflight(connectionTo(server)), 'SLUICE_BINLOG_SETTING', `${variable}=${bad}`, fix, `127.0.0.1:${server.port}`);
      } finally {
        await root.query(`SET GLOBAL ${variable} = '${row.value}'`);
        await root.end();
      }
    });
  }

  test('binlog_row_metadata=MINIMAL passes, and then SELECT is needed to read column names from information_schema', async () => {
    const root = await server.rootConnection();
    await root.query(
      "CREATE OR REPLACE USER 'noselect'@'127.0.0.1' IDENTIFIED BY 'pw'; GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'noselect'@'127.0.0.1'",
    );
    const [[row]] = (await root.query('SELECT @@GLOBAL.binlog_row_metadata AS value')) as unknown as [[{ value: string }]];
    try {
      assert.equal((await preflight(connectionTo(server, { user: 'noselect', password: 'pw' }))).rowMetadata, 'FULL', 'FULL names the columns: no SELECT needed');
      await root.query("SET GLOBAL binlog_row_metadata = 'MINIMAL'");
      assert.equal((await preflight(connectionTo(server))).rowMetadata, 'MINIMAL');
      await rejectsWith(
        preflight(connectionTo(server, { user: 'noselect', password: 'pw' })),
        'SLUICE_MYSQL_PRIVILEGE_MISSING',
        "user 'noselect'",
        'information_schema',
        "GRANT SELECT ON <database>.* TO 'noselect'",
      );
    } finally {
      await root.query(`SET GLOBAL binlog_row_metadata = '${row.value}'`);
      await root.end();
    }
  });

  test('a server with the binlog off names log_bin and the my.cnf fix', async () => {
    const noBinlog = await startMariaDb({ dir: `${process.env.SLUICE_TEST_MARIADB_DIR ?? TEST_MARIADB_DIR}-nobinlog`, extraArgs: ['--skip-log-bin'] });
    try {
      await rejectsWith(preflight(connectionTo(noBinlog)), 'SLUICE_BINLOG_SETTING', 'log_bin=OFF', 'my.cnf');
    } finally {
      await noBinlog.stop();
    }
  });

  test('`sluice run` with a wrong password exits 78, naming the keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-preflight-'));
    const config = join(dir, 'sluice.yaml');
    writeFileSync(config, `source:\n  host: 127.0.0.1\n  port: ${server.port}\n  user: sluice\n  password: wrong\n`);
    const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'run', '--config', config], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 78, result.stderr);
    assert.match(result.stderr, /Check source\.user and source\.password\. \[SLUICE_MYSQL_ACCESS_DENIED\]/);
  });

  test('`sluice run` stops with exit 78 (no restart can fix it) and the message when the server does not fit', async () => {
    const root = await server.rootConnection();
    await root.query("SET GLOBAL binlog_format = 'STATEMENT'");
    try {
      const dir = mkdtempSync(join(tmpdir(), 'sluice-preflight-'));
      const config = join(dir, 'sluice.yaml');
      writeFileSync(config, `source:\n  host: 127.0.0.1\n  port: ${server.port}\n  user: sluice\n  password: ${server.password}\n`);
      const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'run', '--config', config], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(result.status, 78, result.stderr);
      assert.match(result.stderr, /binlog_format=STATEMENT, sluice needs binlog_format=ROW/);
      assert.match(result.stderr, /SLUICE_BINLOG_SETTING/);
    } finally {
      await root.query("SET GLOBAL binlog_format = 'ROW'");
      await root.end();
    }
  });
});

describe('configuration errors through the CLI', () => {
  test('an unknown key exits 78 and names the key path, line and a suggestion', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-config-'));
    const config = join(dir, 'sluice.yaml');
    writeFileSync(config, 'source:\n  host: 127.0.0.1\n  user: sluice\ncheckpoint:\n  intervalSecond: 5\n');
    const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'run', '--config', config], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 78, result.stderr);
    assert.match(result.stderr, /sluice\.yaml:5:3/);
    assert.match(result.stderr, /checkpoint\.intervalSecond/);
    assert.match(result.stderr, /intervalSeconds/);
  });

  test('a wrong type names the key path and line, and nothing starts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-config-'));
    const config = join(dir, 'sluice.yaml');
    writeFileSync(config, "source:\n  host: 127.0.0.1\n  port: 'three'\n  user: sluice\n");
    const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'run', '--config', config], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 78, result.stderr);
    assert.match(result.stderr, /sluice\.yaml:3:9 source\.port/);
    // The daemon never started: its log holds only the fatal line, with the code, for a log pipeline.
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { level: number; code: string; exitCode: number; msg: string });
    assert.deepEqual(
      lines.map((line) => [line.level, line.code, line.exitCode]),
      [[60, 'SLUICE_CONFIG_INVALID', 78]],
      result.stdout,
    );
    assert.match(lines[0]!.msg, /sluice\.yaml:3:9 source\.port/);
  });
});

after(() => undefined);
