// Logging in to Oracle MySQL 9.7 (test/servers/mysql.ts) as its clients do: caching_sha2_password's
// full authentication (the server's cache empty after FLUSH PRIVILEGES) and its fast one (cached),
// over plain TCP (the password RSA-encrypted with the key the server sends on request) and over TLS,
// for the query connection and the replication stream; source.tls in each of MySQL's --ssl-mode
// modes, against the certificates MySQL generates in its data directory and one made for 127.0.0.1;
// the grants as MySQL 9.7 names them; and the binlog head read by its MySQL 8.2+ name for every
// start position. A private server, since FLUSH PRIVILEGES, ALTER INSTANCE
// RELOAD TLS and require_secure_transport reach every connection of the server.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Connection } from 'mysql2/promise';
import { isSluiceError } from '../src/core/errors.ts';
import { connectMysql, type MysqlServerOptions } from '../src/core/mysql-connect.ts';
import type { MysqlTls } from '../src/core/mysql-tls.ts';
import { createZongJi, stopZongji } from '../src/sources/binlog/decode/zongji.ts';
import { preflight } from '../src/sources/binlog/server/preflight.ts';
import { makeWorkspace, metricsPort, until, withDaemon, type DaemonWorkspace } from './helpers/daemon.ts';
import { gtidExecuted, startPrivateMySql, waitForMySqlCheckpoint } from './helpers/mysql-gtid.ts';
import { runQueryCli } from './helpers/query-cli.ts';
import { REPO_ROOT, testMariaDb } from './helpers/servers.ts';
import type { MySqlServer } from './servers/mysql.ts';

let server: MySqlServer;
let root: Connection;
/** MySQL's own CA, generated in the data directory at the first start. */
let ca: string;

before(async () => {
  server = await startPrivateMySql('auth');
  root = await server.rootConnection();
  ca = join(server.dir, 'data', 'ca.pem');
  await root.query('CREATE DATABASE auth; CREATE TABLE auth.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(60))');
});

after(async () => {
  await root?.end();
  await server?.stop();
});

function login(tls: MysqlTls, user = server.user, password = server.password): MysqlServerOptions {
  return { host: server.host, port: server.port, user, password, connectTimeoutMs: 10_000, tls };
}

const PLAIN: () => MysqlTls = () => ({ mode: 'disabled' });
const VERIFIED: () => MysqlTls = () => ({ mode: 'verify-ca', ca });

/** How the server sees the replication stream of sluice's user: 'SSL/TLS' or 'TCP/IP', undefined while there is none. */
async function streamConnection(): Promise<string | undefined> {
  const [rows] = await root.query(
    "SELECT CONNECTION_TYPE AS type FROM performance_schema.threads WHERE PROCESSLIST_USER = ? AND PROCESSLIST_COMMAND LIKE 'Binlog Dump%'",
    [server.user],
  );
  const types = (rows as { type: string }[]).map((row) => row.type);
  assert.ok(types.length <= 1, `one replication stream at a time: ${types.join(', ')}`);
  return types[0];
}

/**
 * The stream's connection once the server shows it dumping: zongji says 'ready' when it has sent the
 * dump command, a moment before the server's thread takes it up.
 */
async function dumpingStream(): Promise<string | undefined> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const type = await streamConnection();
    if (type !== undefined || Date.now() > deadline) return type;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Until the stream of the scenario before has gone from the server's thread list. */
async function noStream(): Promise<void> {
  const deadline = Date.now() + 15_000;
  while ((await streamConnection()) !== undefined) {
    assert.ok(Date.now() < deadline, 'the replication stream of the scenario before is still there');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('caching_sha2_password on MySQL 9.7', () => {
  for (const [transport, tls, type] of [
    ['plain TCP (RSA key exchange)', PLAIN, 'TCP/IP'],
    ['TLS', VERIFIED, 'SSL/TLS'],
  ] as const) {
    for (const auth of ['full', 'fast'] as const) {
      test(`${auth} authentication over ${transport}: the query connection and the replication stream log in, and the stream reads rows`, { timeout: 60_000 }, async () => {
        // FLUSH PRIVILEGES empties the cache of verified passwords: the next login is a full authentication.
        // Without it, the login before (of the same test, or the 'full' one) has filled it.
        await noStream();
        if (auth === 'full') await root.query('FLUSH PRIVILEGES');
        const query = await connectMysql(login(tls()));
        try {
          const [status] = await query.query("SHOW SESSION STATUS LIKE 'Ssl_version'");
          const version = (status as { Value: string }[])[0]!.Value;
          assert.equal(version !== '', type === 'SSL/TLS', `Ssl_version '${version}'`);
        } finally {
          await query.end();
        }

        if (auth === 'full') await root.query('FLUSH PRIVILEGES');
        const zongji = createZongJi(login(tls()));
        const value = `${auth} over ${type}`;
        try {
          const row = new Promise<unknown>((resolve, reject) => {
            zongji.on('error', reject);
            zongji.on('binlog', (event: unknown) => {
              // sluice's zongji hands row images over in column order (id, v), not keyed by name.
              const rows = event as { getEventName(): string; rows?: unknown[][] };
              if (rows.getEventName() === 'writerows') resolve(rows.rows?.[0]?.[1]);
            });
          });
          const ready = new Promise((resolve) => zongji.once('ready', resolve));
          zongji.start({ serverId: 7000 + Math.floor(Math.random() * 1000), startAtEnd: true, includeEvents: ['tablemap', 'writerows'] } as Parameters<typeof zongji.start>[0]);
          await Promise.race([ready, row]);
          assert.equal(await dumpingStream(), type, "the replication stream's connection");
          await root.query('INSERT INTO auth.t (v) VALUES (?)', [value]);
          assert.equal(await row, value);
        } finally {
          await stopZongji(zongji);
        }
      });
    }
  }

  test('a server without an RSA key pair refuses a full authentication over plain TCP: the error says so and names source.tls', { timeout: 60_000 }, async () => {
    const bare = await startPrivateMySql('norsa', {
      extraArgs: ['--caching-sha2-password-auto-generate-rsa-keys=OFF', '--caching-sha2-password-private-key-path=none.pem', '--caching-sha2-password-public-key-path=none.pem'],
    });
    try {
      const options = { host: bare.host, port: bare.port, user: bare.user, password: bare.password, connectTimeoutMs: 10_000 };
      await assert.rejects(connectMysql({ ...options, tls: { mode: 'disabled' } }), (error) =>
        isSluiceError(error, 'SLUICE_MYSQL_ACCESS_DENIED') &&
        /Check source\.user and source\.password\. If they are right: this login went over plain TCP, where caching_sha2_password needs the server's RSA key .*Fix: set source\.tls\.mode: required/.test(error.message),
      );
      // Over TLS the password goes as it is, and the server caches it: the next plain login is a fast one.
      await (await connectMysql({ ...options, tls: { mode: 'required' } })).end();
      await (await connectMysql({ ...options, tls: { mode: 'disabled' } })).end();
    } finally {
      await bare.stop();
    }
  });

  test('the daemon reads rows after a full authentication, over plain TCP from latest and over TLS from earliest', { timeout: 120_000 }, async () => {
    for (const [tls, type, start] of [
      ['{ mode: disabled }', 'TCP/IP', 'latest'],
      [`{ mode: verify-ca, ca: '${ca}' }`, 'SSL/TLS', 'earliest'],
    ] as const) {
      await noStream();
      await root.query('FLUSH PRIVILEGES');
      const workspace = withTls(makeWorkspace(server, { start, routing: "  include: ['auth.*']", intervalSeconds: 0.3 }), tls);
      const value = `daemon over ${type}`;
      const { daemon, exit } = await withDaemon(workspace, server, async (running) => {
        await metricsPort(running);
        assert.equal(await until('the replication stream', running, streamConnection), type, "the daemon's replication stream");
        await root.query('INSERT INTO auth.t (v) VALUES (?)', [value]);
        await waitForMySqlCheckpoint(server, workspace, await gtidExecuted(server), running);
      });
      assert.equal(exit.code, 0, daemon.output().slice(-3000));
      const landed = await runQueryCli(workspace, server, `SELECT v FROM auth.t WHERE v = '${value}'`);
      assert.deepEqual(landed, [{ v: value }], `the row came through the ${type} stream`);
    }
  });
});

describe('source.tls, as MySQL clients say --ssl-mode', () => {
  test('sluice check connects in each mode and says how; a certificate that does not verify is refused with the fix', { timeout: 120_000 }, async () => {
    const ok = (tls: string) => sluiceCheck(tls);
    assert.match(ok('{ mode: disabled }').line('MySQL reachable'), /^ok .*MySQL 9\.7\.\S+, no TLS \(source\.tls\.mode disabled\)$/);
    // preferred is the default, as in MySQL's clients; MySQL 9.7 offers TLS.
    assert.match(ok('{ mode: preferred }').line('MySQL reachable'), /^ok .*, TLS TLSv1\.[23] \S+ \(source\.tls\.mode preferred\)$/);
    assert.match(ok('{ mode: required }').line('MySQL reachable'), /^ok .*, TLS TLSv1\.[23] \S+ \(source\.tls\.mode required\)$/);
    const verified = ok(`{ mode: verify-ca, ca: '${ca}' }`);
    assert.equal(verified.status, 0, verified.output);
    assert.match(verified.line('MySQL reachable'), /^ok .*, TLS TLSv1\.[23] \S+ \(source\.tls\.mode verify-ca\)$/);
    assert.match(verified.line('grants'), /^ok {4}grants: REPLICATION SLAVE, REPLICATION CLIENT$/);

    // Without the CA, Node's list of public CAs does not know MySQL's self-signed one.
    const unknownCa = sluiceCheck('{ mode: verify-ca }');
    assert.equal(unknownCa.status, 1);
    assert.match(unknownCa.line('MySQL reachable'), /^FAIL .*TLS to MySQL at 127\.0\.0\.1:\d+ failed \(source\.tls\.mode verify-ca\): .*certificate.*Fix: give the CA that signed the server's certificate in source\.tls\.ca .*\[SLUICE_MYSQL_TLS\]$/);
    // MySQL's generated certificate names no host: verify-identity refuses it for 127.0.0.1.
    const unnamed = sluiceCheck(`{ mode: verify-identity, ca: '${ca}' }`);
    assert.match(unnamed.line('MySQL reachable'), /^FAIL .*\(source\.tls\.mode verify-identity\): .*127\.0\.0\.1.*Fix: the server's certificate does not name 127\.0\.0\.1: .*verify-ca.*\[SLUICE_MYSQL_TLS\]$/);

    // Certificates signed by MySQL's CA, loaded without a restart. verify-identity checks source.host
    // (127.0.0.1) against them: one for the address passes, one for localhost alone does not.
    const dir = mkdtempSync(join(tmpdir(), 'sluice-tls-'));
    try {
      await useServerCertificate(dir, 'localhost', 'DNS:localhost');
      const other = sluiceCheck(`{ mode: verify-identity, ca: '${ca}' }`);
      assert.match(other.line('MySQL reachable'), /^FAIL .*\(source\.tls\.mode verify-identity\): Hostname\/IP does not match certificate's altnames: IP: 127\.0\.0\.1 is not in the cert's list: .*\[SLUICE_MYSQL_TLS\]$/);

      await useServerCertificate(dir, 'address', 'IP:127.0.0.1');
      const named = sluiceCheck(`{ mode: verify-identity, ca: '${ca}' }`);
      assert.equal(named.status, 0, named.output);
      assert.match(named.line('MySQL reachable'), /^ok .*, TLS TLSv1\.[23] \S+ \(source\.tls\.mode verify-identity\)$/);
      // The daemon's replication stream under verify-identity too.
      await noStream();
      const workspace = withTls(makeWorkspace(server, { start: 'latest', routing: "  include: ['auth.*']", intervalSeconds: 0.3 }), `{ mode: verify-identity, ca: '${ca}' }`);
      const { daemon, exit } = await withDaemon(workspace, server, async (running) => {
        await metricsPort(running);
        assert.equal(await until('the replication stream', running, streamConnection), 'SSL/TLS');
        await root.query("INSERT INTO auth.t (v) VALUES ('verify-identity')");
        await waitForMySqlCheckpoint(server, workspace, await gtidExecuted(server), running);
      });
      assert.equal(exit.code, 0, daemon.output().slice(-3000));
      assert.deepEqual(await runQueryCli(workspace, server, "SELECT v FROM auth.t WHERE v = 'verify-identity'"), [{ v: 'verify-identity' }]);
    } finally {
      await root.query(`SET GLOBAL ssl_cert = 'server-cert.pem', GLOBAL ssl_key = 'server-key.pem'; ALTER INSTANCE RELOAD TLS`);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a batch copy takes tls in its source and its MySQL writer', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-sync-tls-'));
    try {
      // The writer's account owns its database (it keeps its offsets table there).
      await root.query("CREATE TABLE IF NOT EXISTS auth.copy LIKE auth.t; CREATE USER IF NOT EXISTS 'copier'@'127.0.0.1' IDENTIFIED BY 'pw'; GRANT ALL ON auth.* TO 'copier'@'127.0.0.1'");
      const job = (name: string, source: object, writer: object) => {
        const file = join(dir, `${name}.yaml`);
        const login_ = { host: server.host, port: server.port, user: server.user, password: server.password };
        writeFileSync(file, JSON.stringify({ name, source: { ...login_, table: 'auth.t', key: 'id', ...source }, writer: { ...login_, user: 'copier', password: 'pw', kind: 'mysql', table: 'auth.copy', ...writer }, checkpoint: { dir: join(dir, 'state') } }));
        return spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'sync', '--job', file], { encoding: 'utf8', timeout: 60_000 });
      };
      const copied = job('verified', { tls: { mode: 'verify-ca', ca } }, { tls: { mode: 'verify-ca', ca } });
      assert.equal(copied.status, 0, copied.stdout + copied.stderr);
      const [counts] = await root.query('SELECT (SELECT COUNT(*) FROM auth.t) AS source, (SELECT COUNT(*) FROM auth.copy) AS copied');
      const { source, copied: target } = (counts as { source: number; copied: number }[])[0]!;
      assert.ok(source > 0 && Number(target) === Number(source), `${target} of ${source} rows copied`);

      const noCa = job('source-unverified', { tls: { mode: 'verify-ca' } }, {});
      assert.equal(noCa.status, 78, noCa.stderr);
      assert.match(noCa.stderr, /TLS to MySQL at 127\.0\.0\.1:\d+ failed \(source\.tls\.mode verify-ca\).*\[SLUICE_MYSQL_TLS\]/);
      const unnamed = job('writer-unnamed', {}, { tls: { mode: 'verify-identity', ca } });
      assert.equal(unnamed.status, 78, unnamed.stderr);
      assert.match(unnamed.stderr, /TLS to MySQL at 127\.0\.0\.1:\d+ failed \(writer\.tls\.mode verify-identity\).*Fix: the server's certificate does not name 127\.0\.0\.1: .*\[SLUICE_MYSQL_TLS\]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('require_secure_transport=ON refuses mode disabled with the key to change', { timeout: 30_000 }, async () => {
    await root.query('SET GLOBAL require_secure_transport = ON');
    try {
      await assert.rejects(connectMysql(login(PLAIN())), (error) => isSluiceError(error, 'SLUICE_MYSQL_TLS') && /accepts only TLS connections .*Fix: set source\.tls\.mode: required/.test(error.message));
      await (await connectMysql(login({ mode: 'required' }))).end();
    } finally {
      await root.query('SET GLOBAL require_secure_transport = OFF');
    }
  });

  test('a server without TLS (MariaDB here): preferred connects in the clear, required and stricter refuse with the fix', { timeout: 30_000 }, async () => {
    const mariadb = await testMariaDb();
    const options = { host: mariadb.host, port: mariadb.port, user: mariadb.user, password: mariadb.password, connectTimeoutMs: 10_000 };
    const plain = await connectMysql({ ...options, tls: { mode: 'preferred' } });
    const [status] = await plain.query("SHOW SESSION STATUS LIKE 'Ssl_version'");
    assert.equal((status as { Value: string }[])[0]?.Value ?? '', '');
    await plain.end();
    await assert.rejects(connectMysql({ ...options, tls: { mode: 'required' } }), (error) => isSluiceError(error, 'SLUICE_MYSQL_TLS') && /offers no TLS, and source\.tls\.mode is required\. Fix: enable TLS on the server/.test(error.message));
  });

  test('a wrong source.tls is a config error naming the key and the file', { timeout: 30_000 }, () => {
    const typo = sluiceCheck('{ mode: VERIFY_CA }');
    assert.match(typo.line('config'), /^FAIL {2}config: \S+sluice\.yaml:\d+:\d+ source\.tls\.mode: expected one of 'disabled', 'preferred', 'required', 'verify-ca', 'verify-identity', got string 'VERIFY_CA'/);
    const ignored = sluiceCheck(`{ mode: required, ca: '${ca}' }`);
    assert.match(ignored.line('config'), /sluice\.yaml:\d+:\d+ source\.tls\.ca: mode required does not check the server's certificate, so a ca would be ignored; set mode: verify-ca or verify-identity/);
    const missing = sluiceCheck("{ mode: verify-ca, ca: ./no-such-ca.pem }");
    assert.match(missing.line('config'), /cannot read source\.tls\.ca \(\S+sluice\.yaml\) \S+\/no-such-ca\.pem: there is no file .*\[SLUICE_CONFIG_UNREADABLE\]/);
  });
});

describe('grants as MySQL 9.7 names them', () => {
  test('REPLICATION SLAVE, REPLICATION CLIENT and SELECT pass; each one missing is named with the GRANT to run', { timeout: 60_000 }, async () => {
    const make = async (name: string, grants: string) => {
      await root.query(`DROP USER IF EXISTS ?@'127.0.0.1'; CREATE USER ?@'127.0.0.1' IDENTIFIED WITH caching_sha2_password BY 'pw'; GRANT ${grants} ON *.* TO ?@'127.0.0.1'`, [name, name, name]);
      const [rows] = await root.query(`SHOW GRANTS FOR ?@'127.0.0.1'`, [name]);
      return Object.values((rows as Record<string, string>[])[0]!)[0];
    };
    // Exactly what docs/mysql-setup.md asks for, as SHOW GRANTS prints it on MySQL 9.7.
    assert.equal(await make('exact', 'REPLICATION SLAVE, REPLICATION CLIENT, SELECT'), 'GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `exact`@`127.0.0.1`');
    await preflight(login({ mode: 'preferred' }, 'exact', 'pw'));

    await make('noslave', 'REPLICATION CLIENT, SELECT');
    await assert.rejects(preflight(login({ mode: 'preferred' }, 'noslave', 'pw')), (error) =>
      isSluiceError(error, 'SLUICE_MYSQL_PRIVILEGE_MISSING') && /lacks REPLICATION SLAVE;.*Fix: GRANT REPLICATION SLAVE ON \*\.\* TO 'noslave'@'127\.0\.0\.1';$/.test(error.message),
    );
    await make('noclient', 'REPLICATION SLAVE, SELECT');
    await assert.rejects(preflight(login({ mode: 'preferred' }, 'noclient', 'pw')), (error) =>
      isSluiceError(error, 'SLUICE_MYSQL_PRIVILEGE_MISSING') && /lacks REPLICATION CLIENT;.*Fix: GRANT REPLICATION CLIENT ON \*\.\* TO 'noclient'@'127\.0\.0\.1';$/.test(error.message),
    );
    // SELECT is needed where the binlog carries no column names (binlog_row_metadata=MINIMAL).
    await make('noselect', 'REPLICATION SLAVE, REPLICATION CLIENT');
    await root.query('SET GLOBAL binlog_row_metadata = MINIMAL');
    try {
      await assert.rejects(preflight(login({ mode: 'preferred' }, 'noselect', 'pw')), (error) =>
        isSluiceError(error, 'SLUICE_MYSQL_PRIVILEGE_MISSING') && /has no SELECT privilege;.*Fix: GRANT SELECT ON <database>\.\* TO 'noselect'@'127\.0\.0\.1';/.test(error.message),
      );
      await preflight(login({ mode: 'preferred' }, 'exact', 'pw'));
    } finally {
      await root.query('SET GLOBAL binlog_row_metadata = FULL');
    }

    // sluice check says the same on its grants line.
    const check = sluiceCheck('{ mode: preferred }', { user: 'noslave', password: 'pw' });
    assert.match(check.line('MySQL reachable'), /^ok /);
    assert.match(check.line('grants'), /^FAIL {2}grants: user 'noslave' .*lacks REPLICATION SLAVE;.*Fix: GRANT REPLICATION SLAVE ON \*\.\* TO 'noslave'@'127\.0\.0\.1'; \[SLUICE_MYSQL_PRIVILEGE_MISSING\]$/);
  });
});

describe('the binlog head on MySQL 9.7', () => {
  test('every source.start is resolved with SHOW BINARY LOG STATUS, never SHOW MASTER STATUS', { timeout: 60_000 }, async () => {
    await root.query('TRUNCATE TABLE performance_schema.events_statements_summary_by_digest');
    const [heads] = await root.query('SHOW BINARY LOG STATUS');
    // The timestamp is now, not a minute ago: this file's private server may be younger than a minute,
    // and a time before its first binlog is (rightly) a purged position.
    const head = (heads as { File: string; Position: number }[])[0]!;
    const starts = ['latest', 'earliest', `{ gtid: '${await gtidExecuted(server)}' }`, `{ file: '${head.File}', position: ${head.Position} }`, `{ timestamp: '${new Date().toISOString()}' }`];
    for (const start of starts) {
      const check = sluiceCheck('{ mode: preferred }', undefined, start);
      assert.equal(check.status, 0, check.output);
      assert.match(check.line('checkpoint position'), /^ok {4}checkpoint position: no checkpoint yet; source\.start at /);
    }
    const [digests] = await root.query("SELECT DIGEST_TEXT AS text, COUNT_STAR AS count FROM performance_schema.events_statements_summary_by_digest WHERE DIGEST_TEXT LIKE 'SHOW%STATUS%'");
    const counts = new Map((digests as { text: string; count: number }[]).map((row) => [row.text, Number(row.count)]));
    assert.ok((counts.get('SHOW BINARY LOG STATUS') ?? 0) > starts.length, JSON.stringify([...counts]));
    assert.deepEqual([...counts.keys()].filter((text) => /MASTER/.test(text)), [], 'never the old name');
  });
});

/** Makes the server present a certificate signed by its own CA for `subjectAltName` (e.g. 'IP:127.0.0.1'), from now on. */
async function useServerCertificate(dir: string, name: string, subjectAltName: string): Promise<void> {
  const key = join(dir, `${name}-key.pem`);
  const cert = join(dir, `${name}-cert.pem`);
  const extensions = join(dir, `${name}.ext`);
  writeFileSync(extensions, `subjectAltName=${subjectAltName}\n`);
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-subj', `/CN=sluice test ${name}`, '-out', join(dir, `${name}.csr`)], { stdio: 'pipe' });
  const caKey = join(server.dir, 'data', 'ca-key.pem');
  execFileSync('openssl', ['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-CAserial', join(dir, 'ca.srl'), '-days', '2', '-out', cert, '-extfile', extensions], { stdio: 'pipe' });
  await root.query('SET GLOBAL ssl_cert = ?, GLOBAL ssl_key = ?; ALTER INSTANCE RELOAD TLS', [cert, key]);
}

/** The workspace's config with `source.tls: <flow>`. */
function withTls(workspace: DaemonWorkspace, tls: string, login?: { user: string; password: string }): DaemonWorkspace {
  let text = readFileSync(workspace.configFile, 'utf8').replace(/^ {2}serverId: .*$/m, (line) => `${line}\n  tls: ${tls}`);
  if (login) text = text.replace(/^ {2}user: .*$/m, `  user: ${login.user}`).replace(/^ {2}password: .*$/m, `  password: ${login.password}`);
  writeFileSync(workspace.configFile, text);
  return workspace;
}

function sluiceCheck(tls: string, login?: { user: string; password: string }, start = 'latest'): { status: number | null; output: string; line(name: string): string } {
  const workspace = withTls(makeWorkspace(server, { start, routing: "  include: ['auth.*']" }), tls, login);
  const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'check', '--config', workspace.configFile], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, SLUICE_TEST_PASSWORD: server.password },
  });
  rmSync(workspace.dir, { recursive: true, force: true });
  const output = result.stdout + result.stderr;
  return {
    status: result.status,
    output,
    line: (name) => output.split('\n').find((line) => line.slice(6).startsWith(`${name}:`)) ?? assert.fail(`no '${name}' line in:\n${output}`),
  };
}
