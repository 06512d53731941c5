// `sluice check` against the private MariaDB: all pass on a fitting setup; each failure is the line
// that names the problem, and the exit status is 1.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CheckpointStore } from '../src/checkpoint/checkpoint-store.ts';
import { mariadbGtidGap } from '../src/sources/binlog/position/position-available.ts';
import type { MariaDbServer } from './servers/mariadb.ts';
import { makeWorkspace, type DaemonWorkspace } from './helpers/daemon.ts';
import { registerFakeReplica } from './helpers/fake-replica.ts';
import { holdLockInChild } from './helpers/lock-holder.ts';
import { REPO_ROOT, testMariaDb } from './helpers/servers.ts';

function check(server: MariaDbServer, configFile: string) {
  const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'check', '--config', configFile], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, SLUICE_TEST_PASSWORD: server.password },
  });
  return { ...result, line: lineOf(result.stdout) };
}

function lineOf(stdout: string) {
  return (name: string) => stdout.split('\n').find((text) => text.slice(6).startsWith(`${name}:`)) ?? `(no ${name} line)`;
}

function checkAsync(server: MariaDbServer, configFile: string): Promise<{ status: number | null; stdout: string; line: (name: string) => string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'check', '--config', configFile], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, SLUICE_TEST_PASSWORD: server.password } }, (_error, stdout) =>
      resolve({ status: child.exitCode, stdout, line: lineOf(stdout) }),
    );
  });
}

describe('sluice check', () => {
  let server: MariaDbServer;
  let workspace: DaemonWorkspace;
  before(async () => {
    server = await testMariaDb();
    workspace = makeWorkspace(server, { start: 'earliest', routing: "  include: ['check_test.*']" });
  });

  test('a fitting setup passes every check and exits 0', () => {
    const result = check(server, workspace.configFile);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const lines = result.stdout.trim().split('\n');
    for (const name of ['config', 'MySQL reachable', 'binlog settings', 'grants', 'binlog files', 'server id', 'checkpoint position', 'warehouse', 'catalog', 'state']) {
      assert.match(result.line(name), /^ok /, result.stdout);
    }
    assert.match(result.line('MySQL reachable'), new RegExp(`127\\.0\\.0\\.1:${server.port} as 'sluice', MariaDB`));
    assert.match(result.line('binlog settings'), /binlog_row_image=FULL, binlog_row_metadata=FULL$/);
    // The test user lacks REPLICATION MASTER ADMIN, so the replicas are not listed to it, and the line says so.
    assert.match(result.line('server id'), /^ok {4}server id: source\.serverId=\d+ is not the server's own; the user may not list replicas \(REPLICATION MASTER ADMIN\)/);
    assert.equal(lines.at(-1), 'all 10 checks passed');
  });

  test("previews the routing on the server's tables, and warns of a pattern that matches nothing", async () => {
    const root = await server.rootConnection();
    await root.query('DROP DATABASE IF EXISTS check_route; CREATE DATABASE check_route');
    for (const table of ['order_0', 'order_1', 'notes']) await root.query(`CREATE TABLE check_route.${table} (id INT PRIMARY KEY)`);
    await root.query('CREATE VIEW check_route.recent AS SELECT id FROM check_route.order_0');
    await root.end();
    // 'chek_route.*' is the typo that used to pass every check while capturing nothing.
    const routing = "  include: ['check_route.*', 'chek_route.*']\n  rules:\n    - match: '^check_route\\.order_\\d+$'\n      target: ods.check_orders";
    const typo = makeWorkspace(server, { start: 'latest', routing });
    const result = check(server, typo.configFile);
    assert.equal(result.status, 0, 'a preview warns, it does not fail the check');
    const lines = result.stdout.trim().split('\n');
    const preview = lines.findIndex((line) => line.startsWith('routing preview: '));
    assert.match(lines[preview]!, /^routing preview: 2 of \d+ tables on the server captured, into 1 Hive table$/, result.stdout);
    assert.equal(lines[preview + 1], "      ods.check_orders <- check_route.order_0, check_route.order_1 (routing.rules[0])");
    assert.equal(lines[preview + 2], '      included, but no rule matches (skipped, counted in sluice_unmatched_changes_total): check_route.notes');
    assert.match(result.stdout, /^WARN {2}routing\.include\[1\] 'chek_route\.\*' matches no table on the server \(the server's schemas: .*\bcheck_route\b/m);
    assert.doesNotMatch(result.stdout, /check_route\.recent/, 'a view has no row events');
    assert.equal(lines.at(-1), 'all 10 checks passed');
  });

  test('with snapshot.mode initial and no checkpoint yet, warns of each captured table a first start would refuse for want of a key', async () => {
    const root = await server.rootConnection();
    await root.query(
      'DROP DATABASE IF EXISTS check_keys; CREATE DATABASE check_keys; ' +
        'CREATE TABLE check_keys.keyed (id INT PRIMARY KEY); ' +
        'CREATE TABLE check_keys.unique_nn (u INT NOT NULL, v INT, UNIQUE KEY (u)); ' +
        'CREATE TABLE check_keys.loose (a INT, b INT); ' +
        'CREATE TABLE check_keys.nullable_unique (u INT NULL, UNIQUE KEY (u))',
    );
    const [[head]] = (await root.query('SHOW MASTER STATUS')) as unknown as [[{ File: string; Position: number }]];
    await root.end();
    const routing = "  include: ['check_keys.*']\n  exclude: ['check_keys.nullable_unique']";
    const initial = makeWorkspace(server, { start: 'latest', routing: "  include: ['check_keys.*']", extra: 'snapshot:\n  mode: initial\n' });
    const result = check(server, initial.configFile);
    assert.equal(result.status, 0, 'a warning, not a failure: ' + result.stdout);
    const warned = result.stdout.split('\n').filter((line) => line.startsWith('WARN  snapshot.mode'));
    assert.deepEqual(
      warned.map((line) => /would refuse this table: (\S+) has no primary key/.exec(line)?.[1]),
      ['check_keys.loose', 'check_keys.nullable_unique'],
      result.stdout,
    );
    assert.match(
      warned[0]!,
      /^WARN {2}snapshot\.mode initial, no checkpoint yet: the first start would refuse this table: check_keys\.loose has no primary key or unique index over whole NOT NULL columns.*ADD PRIMARY KEY.*set snapshot\.mode: never.*\[SLUICE_TABLE_KEY\]$/,
    );
    assert.equal(result.stdout.trim().split('\n').at(-1), 'all 10 checks passed');

    // A table the routing leaves out is not read.
    const narrowed = makeWorkspace(server, { start: 'latest', routing, extra: 'snapshot:\n  mode: initial_only\n' });
    const narrow = check(server, narrowed.configFile);
    assert.deepEqual(narrow.stdout.split('\n').filter((line) => line.startsWith('WARN  snapshot.mode')).map((line) => /refuse this table: (\S+) /.exec(line)?.[1]), ['check_keys.loose'], narrow.stdout);

    // snapshot.mode never reads no table; a checkpoint means the first start is past.
    const never = check(server, makeWorkspace(server, { start: 'latest', routing: "  include: ['check_keys.*']" }).configFile);
    assert.doesNotMatch(never.stdout, /WARN {2}snapshot\.mode/, never.stdout);
    await new CheckpointStore(initial.stateDir).write({
      format: 1,
      id: 1,
      jobId: 'test',
      createdAt: new Date().toISOString(),
      source: { kind: 'binlog', position: { file: head.File, offset: Number(head.Position) }, nextSequence: '1' },
      commits: [],
    });
    const resumed = check(server, initial.configFile);
    assert.match(resumed.line('checkpoint position'), /^ok {4}checkpoint position: checkpoint 1 /, resumed.stdout);
    assert.doesNotMatch(resumed.stdout, /WARN {2}snapshot\.mode/, resumed.stdout);
  });

  test('a user without REPLICATION CLIENT fails the grants line, naming the grant', async () => {
    const root = await server.rootConnection();
    await root.query("CREATE OR REPLACE USER 'nomonitor'@'127.0.0.1' IDENTIFIED BY 'pw'; GRANT REPLICATION SLAVE, SELECT ON *.* TO 'nomonitor'@'127.0.0.1'");
    await root.end();
    const config = join(workspace.dir, 'nomonitor.yaml');
    writeFileSync(config, `source:\n  host: 127.0.0.1\n  port: ${server.port}\n  user: nomonitor\n  password: pw\n`);
    const result = check(server, config);
    assert.equal(result.status, 1, result.stdout);
    assert.match(result.line('MySQL reachable'), /^ok /);
    assert.match(result.line('grants'), /^FAIL {2}grants: user 'nomonitor' on .* lacks REPLICATION CLIENT.*GRANT REPLICATION CLIENT ON \*\.\*/);
    assert.match(result.line('binlog files'), /^-- .*not checked/);
    assert.match(result.stdout, /1 failed, \d+ not checked\n$/);
  });

  test('binlog_row_image=MINIMAL fails the binlog settings line, naming the variable', async () => {
    const root = await server.rootConnection();
    const [[row]] = (await root.query('SELECT @@GLOBAL.binlog_row_image AS value')) as unknown as [[{ value: string }]];
    await root.query("SET GLOBAL binlog_row_image = 'MINIMAL'");
    try {
      const result = check(server, workspace.configFile);
      assert.equal(result.status, 1, result.stdout);
      assert.match(result.line('binlog settings'), /^FAIL .*binlog_row_image=MINIMAL, sluice needs binlog_row_image=FULL/);
      assert.match(result.line('grants'), /^-- /);
    } finally {
      await root.query(`SET GLOBAL binlog_row_image = '${row.value}'`);
      await root.end();
    }
  });

  test('a checkpoint in a binlog file the server no longer has fails, naming the file', async () => {
    const gone = makeWorkspace(server, { start: 'earliest', routing: "  include: ['check_test.*']" });
    await new CheckpointStore(gone.stateDir).write({
      format: 1,
      id: 7,
      jobId: 'test',
      createdAt: new Date().toISOString(),
      source: { kind: 'binlog', position: { file: 'mysql-bin.000000', offset: 4 }, nextSequence: '1' },
      commits: [],
    });
    const result = check(server, gone.configFile);
    assert.equal(result.status, 1);
    assert.match(result.line('checkpoint position'), /^FAIL .*no longer has binlog position mysql-bin\.000000:4: binlog file mysql-bin\.000000 is not in SHOW BINARY LOGS/);
  });

  test('a source.serverId a registered replica uses fails the server id line, as the daemon would refuse it', async () => {
    // MariaDB lists replicas only to a user with REPLICATION MASTER ADMIN (the grant docs/mysql-setup.md suggests).
    const root = await server.rootConnection();
    await root.query("CREATE OR REPLACE USER 'lister'@'127.0.0.1' IDENTIFIED BY 'pw'; GRANT REPLICATION SLAVE, BINLOG MONITOR, REPLICATION MASTER ADMIN, SELECT ON *.* TO 'lister'@'127.0.0.1'");
    await root.end();
    const config = join(workspace.dir, 'lister.yaml');
    writeFileSync(config, readFileSync(workspace.configFile, 'utf8').replace(/user: .*\n  password: .*\n/, 'user: lister\n  password: pw\n'));
    const serverId = Number(/serverId: (\d+)/.exec(readFileSync(config, 'utf8'))![1]);
    const before = check(server, config);
    assert.match(before.line('server id'), new RegExp(`^ok {4}server id: source\\.serverId=${serverId} is not the server's own and no registered replica uses it$`), before.stdout);
    const replica = await registerFakeReplica(server, serverId, 'replica-9.example', 3307);
    try {
      const result = check(server, config);
      assert.equal(result.status, 1, result.stdout);
      assert.match(result.line('binlog files'), /^ok /);
      assert.match(result.line('server id'), new RegExp(`^FAIL {2}server id: source\\.serverId ${serverId} is taken: a replica on replica-9\\.example:3307 is connected .*\\[SLUICE_SERVER_ID_IN_USE\\]$`));
      assert.match(result.line('checkpoint position'), /^ok /);
    } finally {
      await replica.close();
    }
  });

  test('a port that is not MySQL fails the MySQL reachable line as SLUICE_NOT_MYSQL', async () => {
    const http = createServer((_request, response) => response.end('not mysql\n'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
    try {
      const port = (http.address() as AddressInfo).port;
      const config = join(workspace.dir, 'http.yaml');
      writeFileSync(config, readFileSync(workspace.configFile, 'utf8').replace(`port: ${server.port}`, `port: ${port}\n  connectTimeoutMs: 2000`));
      // spawnSync would block the HTTP server in this process: the check runs asynchronously here.
      const result = await checkAsync(server, config);
      assert.equal(result.status, 1, result.stdout);
      assert.match(result.line('MySQL reachable'), new RegExp(`^FAIL {2}MySQL reachable: 127\\.0\\.0\\.1:${port} \\(source\\.host, source\\.port\\) is not a MySQL server: it answered "HTTP/1\\.1 400.*\\[SLUICE_NOT_MYSQL\\]$`));
      assert.match(result.line('binlog settings'), /^-- .*MySQL reachable failed/);
      assert.match(result.line('server id'), /^-- .*the server checks failed/);
    } finally {
      http.closeAllConnections();
      http.close();
    }
  });

  let holder: Awaited<ReturnType<typeof holdLockInChild>> | undefined;
  after(() => holder?.kill('SIGKILL'));
  test('a state dir that a running process holds fails the state line with its pid', async () => {
    holder = await holdLockInChild(workspace.stateDir);
    const result = check(server, workspace.configFile);
    assert.equal(result.status, 1);
    assert.match(result.line('state'), new RegExp(`^FAIL .*locked by sluice process ${holder.pid}\\b`));
  });

  test('an invalid config fails the config line with file:line and key, and checks nothing else', () => {
    const config = join(workspace.dir, 'bad.yaml');
    writeFileSync(config, 'source:\n  host: 127.0.0.1\n  user: sluice\n  prot: 3306\n');
    const result = check(server, config);
    assert.equal(result.status, 1);
    assert.match(result.line('config'), /^FAIL .*bad\.yaml:4:3 source\.prot: unknown key 'prot' \(did you mean 'port'\?\)/);
    assert.match(result.line('MySQL reachable'), /^-- .*the config is invalid/);
  });
});

test('a MariaDB GTID position is available when each domain is at or past what was purged', () => {
  assert.equal(mariadbGtidGap('0-1-40', ''), undefined);
  assert.equal(mariadbGtidGap('0-1-40', '0-1-40'), undefined);
  assert.equal(mariadbGtidGap('0-1-40,1-2-9', '0-1-30,1-3-9'), undefined);
  assert.match(mariadbGtidGap('0-1-29', '0-1-30') ?? '', /at 29 in domain 0, purged up to 30/);
  assert.match(mariadbGtidGap('0-1-40', '0-1-30,1-2-5') ?? '', /nothing of domain 1/);
});
