import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig, parseConfig, redactConfig } from '../src/config/load.ts';
import { isSluiceError, type SluiceError } from '../src/core/errors.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const minimal = 'source:\n  host: db.example\n  user: sluice\n';

/** Runs fn, asserts it throws a SluiceError with the code, and returns it for further checks. */
function expectError(fn: () => unknown, code: SluiceError['code'] = 'SLUICE_CONFIG_INVALID'): SluiceError {
  try {
    fn();
  } catch (error) {
    assert.ok(isSluiceError(error, code), `expected ${code}, got ${String(error)}`);
    return error;
  }
  assert.fail('expected an error');
}

describe('config', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('the example config loads', async () => {
    const file = join(repoRoot, 'config', 'sluice.example.yaml');
    const config = await loadConfig(file, { SLUICE_MYSQL_PASSWORD: 'secret' });
    assert.equal(config.source.password, 'secret');
    assert.equal(config.routing.rules[0]?.target, 'ods.orders');
    assert.deepEqual(config.sink.filesystem, { kind: 'local', root: join(repoRoot, 'config', '.sluice', 'warehouse') });
  });

  test('defaults fill in and relative paths resolve against the config directory', () => {
    const config = parseConfig(minimal, '/etc/sluice/sluice.yaml', {});
    assert.deepEqual(config.source, {
      kind: 'binlog',
      host: 'db.example',
      port: 3306,
      user: 'sluice',
      password: '',
      serverId: 4711,
      start: 'earliest',
      connectTimeoutMs: 10000,
      // MySQL's clients' default --ssl-mode.
      tls: { mode: 'preferred' },
    });
    assert.deepEqual(config.routing.include, ['*.*']);
    for (const db of ['mysql', 'information_schema', 'performance_schema', 'sys']) {
      assert.ok(config.routing.exclude.includes(`${db}.*`), `${db} is always excluded`);
    }
    assert.deepEqual(config.routing.rules, []);
    assert.deepEqual(config.sink, {
      kind: 'hive',
      format: 'text',
      partition: 'day',
      dayColumn: 'dt',
      hourColumn: 'hr',
      filesystem: { kind: 'local', root: '/etc/sluice/.sluice/warehouse' },
      catalog: { kind: 'local', dir: '/etc/sluice/.sluice/catalog' },
      parquet: { rowGroupRows: 1_000_000, rowGroupBytes: 2 * 1024 * 1024, codec: 'SNAPPY' },
      rollBytes: 134217728,
      rollSeconds: 3600,
      onTableError: 'table',
      compaction: { enabled: true, schedule: '17 * * * *', closedAfterHours: 2, minFiles: 4, smallFileBytes: 67108864, maxPartitionsPerRun: 4 },
      materialize: { enabled: false, schedule: '41 2 * * *', tables: 'all', suffix: '_snapshot', retentionDays: 0 },
    });
    assert.deepEqual(config.checkpoint, { intervalSeconds: 10, dir: '/etc/sluice/.sluice/state', keep: 3, store: 'local' });
    assert.equal(config.runtime.maxQueuedEvents, 1000);
    assert.deepEqual(config.log, { level: 'info', format: 'auto' });
    assert.deepEqual(config.metrics, { enabled: true, host: '127.0.0.1', port: 9464 });
  });

  test('start accepts a binlog coordinate and a gtid set', () => {
    const coordinate = parseConfig(`${minimal}  start: { file: mysql-bin.000042, position: 4 }\n`, 'x.yaml', {});
    assert.deepEqual(coordinate.source.start, { file: 'mysql-bin.000042', position: 4 });
    const gtid = parseConfig(`${minimal}  start: { gtid: 'abc:1-5' }\n`, 'x.yaml', {});
    assert.deepEqual(gtid.source.start, { gtid: 'abc:1-5' });
    // Unquoted, YAML 1.2 keeps it a string: no timestamp type, so no trip through the process time zone.
    const timestamp = parseConfig(`${minimal}  start: { timestamp: 2026-11-25T18:00:00+08:00 }\n`, 'x.yaml', {});
    assert.deepEqual(timestamp.source.start, { timestamp: '2026-11-25T18:00:00+08:00' });
  });

  test('a start timestamp without its zone, or not a time at all, names source.start.timestamp', () => {
    for (const text of ["'2026-11-25T10:00:00'", "'2026-11-25'", "'2026-02-30T10:00:00Z'", 'yesterday']) {
      const error = expectError(() => parseConfig(`${minimal}  start: { timestamp: ${text} }\n`, 'sluice.yaml', {}));
      assert.match(error.message, /^sluice\.yaml:4:\d+ source\.start\.timestamp: expected an ISO 8601 instant with its zone, such as '2026-11-25T10:00:00Z'/, text);
      assert.equal(error.context.configKey, 'source.start.timestamp');
    }
  });

  test('a wrong type names the key path and its line:column', () => {
    const text = `${minimal}checkpoint:\n  intervalSeconds: abc\n`;
    const error = expectError(() => parseConfig(text, 'sluice.yaml', {}));
    assert.equal(error.message, "sluice.yaml:5:20 checkpoint.intervalSeconds: expected a number, got string 'abc'");
    assert.deepEqual(
      { file: error.context.file, configKey: error.context.configKey, line: error.context.line, column: error.context.column },
      { file: 'sluice.yaml', configKey: 'checkpoint.intervalSeconds', line: 5, column: 20 },
    );
  });

  test('all problems are reported at once, in file order', () => {
    const text = `source:\n  user: sluice\n  port: 70000\ncheckpoint:\n  intervalSeconds: -1\nsink:\n  partition: week\n`;
    const lines = expectError(() => parseConfig(text, 'sluice.yaml', {})).message.split('\n');
    assert.deepEqual(lines, [
      "sluice.yaml:1:1 source.host: missing required key 'host' (expected a string)",
      'sluice.yaml:3:9 source.port: expected an integer at most 65535, got 70000',
      'sluice.yaml:5:20 checkpoint.intervalSeconds: expected a number greater than 0, got -1',
      "sluice.yaml:7:14 sink.partition: expected one of 'day', 'hour', got string 'week'",
    ]);
  });

  test('log.format is auto, json or pretty', () => {
    assert.equal(parseConfig(`${minimal}log:\n  format: pretty\n`, 'sluice.yaml', {}).log.format, 'pretty');
    const error = expectError(() => parseConfig(`${minimal}log:\n  format: text\n`, 'sluice.yaml', {}));
    assert.equal(error.message, "sluice.yaml:5:11 log.format: expected one of 'auto', 'json', 'pretty', got string 'text'");
  });

  test('a missing required section points at its parent', () => {
    const error = expectError(() => parseConfig('log:\n  level: debug\n', 'sluice.yaml', {}));
    assert.match(error.message, /^sluice\.yaml:1:1 source: missing required key 'source'/);
  });

  test('an unknown key is named, located at the key, with a suggestion', () => {
    const text = `${minimal}checkpoint:\n  interval_seconds: 5\n  bogus: 1\n`;
    const error = expectError(() => parseConfig(text, 'sluice.yaml', {}));
    const [first, second] = error.message.split('\n');
    assert.equal(first, "sluice.yaml:5:3 checkpoint.interval_seconds: unknown key 'interval_seconds' (did you mean 'intervalSeconds'?)");
    assert.equal(second, "sluice.yaml:6:3 checkpoint.bogus: unknown key 'bogus' (known keys: intervalSeconds, dir, keep, store, hdfs)");
    assert.equal(error.context.configKey, 'checkpoint.interval_seconds');
  });

  test('checkpoint.store: hdfs takes the warehouse NameNodes, or its own; every mistake names its key', () => {
    const webhdfs = "sink:\n  filesystem:\n    kind: webhdfs\n    namenodes: ['http://nn1:9870']\n    user: etl\n";
    const config = parseConfig(`${minimal}${webhdfs}checkpoint:\n  store: hdfs\n  hdfs:\n    dir: /sluice/state/shop\n    spoolDir: ./spool\n`, '/etc/sluice/sluice.yaml', {});
    assert.equal(config.checkpoint.store, 'hdfs');
    assert.deepEqual(config.checkpoint.hdfs, { dir: '/sluice/state/shop', spoolDir: '/etc/sluice/spool' });
    const own = parseConfig(`${minimal}checkpoint:\n  store: hdfs\n  hdfs:\n    dir: /s\n    namenodes: ['http://nn9:9870']\n`, 'sluice.yaml', {});
    assert.deepEqual(own.checkpoint.hdfs?.namenodes, ['http://nn9:9870']);

    const cases: [string, string, RegExp][] = [
      [`${minimal}checkpoint:\n  store: hdfs\n`, 'checkpoint.hdfs', /required with store: hdfs/],
      [`${minimal}checkpoint:\n  store: hdfs\n  hdfs:\n    dir: /s\n`, 'checkpoint.hdfs.namenodes', /required when sink.filesystem is not webhdfs/],
      [`${minimal}${webhdfs}checkpoint:\n  store: hdfs\n  hdfs:\n    dir: state\n`, 'checkpoint.hdfs.dir', /absolute HDFS path/],
      [`${minimal}${webhdfs}checkpoint:\n  hdfs:\n    dir: /s\n`, 'checkpoint.store', /set store: hdfs/],
      [`${minimal}checkpoint:\n  store: zookeeper\n`, 'checkpoint.store', /local|hdfs/],
    ];
    for (const [text, key, message] of cases) {
      const error = expectError(() => parseConfig(text, 'sluice.yaml', {}));
      assert.equal(error.context.configKey, key, error.message);
      assert.match(error.message, message);
    }
  });

  test('ha.zookeeper takes an ensemble, a path and a session timeout, and requires the state on HDFS', () => {
    const webhdfs = "sink:\n  filesystem:\n    kind: webhdfs\n    namenodes: ['http://nn1:9870']\n";
    const hdfsState = 'checkpoint:\n  store: hdfs\n  hdfs:\n    dir: /sluice/state/shop\n';
    const ha = (zookeeper: string) => `ha:\n  zookeeper:\n${zookeeper}`;
    const config = parseConfig(`${minimal}${webhdfs}${hdfsState}${ha("    connect: 'zk1:2181,zk2:2181'\n    path: /sluice/shop\n")}`, 'sluice.yaml', {});
    assert.deepEqual(config.ha.zookeeper, { connect: 'zk1:2181,zk2:2181', path: '/sluice/shop', sessionTimeoutMs: 10_000 });
    assert.equal(parseConfig(minimal, 'sluice.yaml', {}).ha.zookeeper, undefined);

    const cases: [string, string, RegExp][] = [
      [`${minimal}${ha("    connect: 'zk1:2181'\n    path: /sluice/shop\n")}`, 'ha.zookeeper', /requires checkpoint\.store: hdfs/],
      [`${minimal}${webhdfs}${hdfsState}${ha("    connect: 'zk1'\n    path: /sluice/shop\n")}`, 'ha.zookeeper.connect', /host:port/],
      [`${minimal}${webhdfs}${hdfsState}${ha("    connect: 'zk1:2181'\n    path: sluice/shop/\n")}`, 'ha.zookeeper.path', /absolute ZooKeeper path/],
      [`${minimal}${webhdfs}${hdfsState}${ha("    connect: 'zk1:2181'\n    path: /s\n    sessionTimeoutMs: 10\n")}`, 'ha.zookeeper.sessionTimeoutMs', /1000/],
    ];
    for (const [text, key, message] of cases) {
      const error = expectError(() => parseConfig(text, 'sluice.yaml', {}));
      assert.equal(error.context.configKey, key, error.message);
      assert.match(error.message, message);
    }
  });

  test('a bad regex names routing.rules[0].match with its line', () => {
    const text = `${minimal}routing:\n  rules:\n    - match: '^shop_(\\d+'\n      target: ods.orders\n`;
    const error = expectError(() => parseConfig(text, 'sluice.yaml', {}));
    assert.match(error.message, /^sluice\.yaml:6:14 routing\.rules\[0\]\.match: expected a valid regular expression/);
    assert.equal(error.context.line, 6);
  });

  test('a rule target must be db.table and may only reference existing groups', () => {
    const text = `${minimal}routing:\n  rules:\n    - match: '^(a)$'\n      target: 'ods.t_$2'\n    - match: x\n      target: nodot\n`;
    const lines = expectError(() => parseConfig(text, 'sluice.yaml', {})).message.split('\n');
    assert.equal(lines[0], 'sluice.yaml:7:15 routing.rules[0].target: refers to $2 but match has 1 capture group');
    assert.match(lines[1] ?? '', /^sluice\.yaml:9:15 routing\.rules\[1\]\.target: expected a 'db\.table' target/);
  });

  test('a malformed start reports the most specific problem', () => {
    const partial = expectError(() => parseConfig(`${minimal}  start: { file: mysql-bin.000001 }\n`, 'sluice.yaml', {}));
    assert.match(partial.message, /source\.start\.position: missing required key 'position'/);
    const extra = expectError(() => parseConfig(`${minimal}  start: { file: f.1, position: 4, offset: 9 }\n`, 'sluice.yaml', {}));
    assert.match(extra.message, /^sluice\.yaml:4:36 source\.start\.offset: unknown key 'offset'/);
    const empty = expectError(() => parseConfig(`${minimal}  start: {}\n`, 'sluice.yaml', {}));
    assert.match(empty.message, /source\.start: expected 'earliest', 'latest', \{ file, position \}, \{ gtid \} or \{ timestamp \}, got a mapping$/);
    const word = expectError(() => parseConfig(`${minimal}  start: newest\n`, 'sluice.yaml', {}));
    assert.match(word.message, /^sluice\.yaml:4:10 source\.start: expected 'earliest', 'latest', \{ file, position \}, \{ gtid \} or \{ timestamp \}, got string 'newest'$/);
  });

  test('snapshot: initial by default; a signal table is db.table and needs a mode other than never', () => {
    assert.deepEqual(parseConfig(minimal, 'x.yaml', {}).snapshot, { mode: 'initial', chunkRows: 10_000, chunkBytes: 16 * 1024 * 1024 });
    assert.equal(parseConfig(`${minimal}snapshot:\n  signalTable: ops.signals\n`, 'x.yaml', {}).snapshot.signalTable, 'ops.signals');
    const never = expectError(() => parseConfig(`${minimal}snapshot:\n  mode: never\n  signalTable: ops.signals\n`, 'x.yaml', {}));
    assert.match(never.message, /snapshot\.signalTable: a signal table needs snapshot\.mode other than never/);
    const glob = expectError(() => parseConfig(`${minimal}snapshot:\n  signalTable: 'ops.*'\n`, 'x.yaml', {}));
    assert.match(glob.message, /snapshot\.signalTable: expected a source table as 'db\.table'/);
  });

  test("source.tls: MySQL's --ssl-mode names, PEM paths relative to the config file and readable, a ca only where it is checked", async () => {
    await writeFile(join(dir, 'ca.pem'), 'not parsed at load');
    const tlsFile = join(dir, 'tls.yaml');
    await writeFile(tlsFile, `${minimal}  tls:\n    mode: verify-identity\n    ca: ./ca.pem\n`);
    assert.deepEqual((await loadConfig(tlsFile, {})).source.tls, { mode: 'verify-identity', ca: join(dir, 'ca.pem') });

    const modes = expectError(() => parseConfig(`${minimal}  tls: { mode: VERIFY_CA }\n`, '/etc/sluice/sluice.yaml', {}));
    assert.match(modes.message, /^\/etc\/sluice\/sluice\.yaml:4:16 source\.tls\.mode: expected one of 'disabled', 'preferred', 'required', 'verify-ca', 'verify-identity'/);
    const unused = expectError(() => parseConfig(`${minimal}  tls: { mode: required, ca: ca.pem }\n`, '/etc/sluice/sluice.yaml', {}));
    assert.match(unused.message, /source\.tls\.ca: mode required does not check the server's certificate, so a ca would be ignored; set mode: verify-ca or verify-identity/);
    const half = expectError(() => parseConfig(`${minimal}  tls: { mode: required, cert: client.pem }\n`, '/etc/sluice/sluice.yaml', {}));
    assert.match(half.message, /source\.tls\.key: cert and key \(the client certificate and its private key\) go together/);
    const missing = expectError(() => parseConfig(`${minimal}  tls: { mode: verify-ca, ca: nosuch.pem }\n`, join(dir, 'sluice.yaml'), {}), 'SLUICE_CONFIG_UNREADABLE');
    assert.match(missing.message, new RegExp(`cannot read source\\.tls\\.ca \\(\\S+sluice\\.yaml\\) ${join(dir, 'nosuch.pem')}: there is no file`));
  });

  test('a YAML syntax error names file, line and column', () => {
    const error = expectError(() => parseConfig(`${minimal}sink:\n  partition: [day\nlog: {}\n`, 'sluice.yaml', {}));
    assert.match(error.message, /^sluice\.yaml:\d+:\d+ YAML syntax error: /);
    assert.equal(error.context.file, 'sluice.yaml');
    assert.equal(typeof error.context.line, 'number');
    const duplicate = expectError(() => parseConfig(`${minimal}source:\n  host: other\n`, 'sluice.yaml', {}));
    assert.match(duplicate.message, /^sluice\.yaml:4:1 YAML syntax error: Map keys must be unique/);
  });

  test('${env:X} and ${file:P} are substituted', async () => {
    await writeFile(join(dir, 'password.txt'), 's3cret\n');
    const text = 'source:\n  host: ${env:DB_HOST}\n  user: u-${env:DB_USER}\n  password: ${file:password.txt}\n';
    const config = parseConfig(text, join(dir, 'sluice.yaml'), { DB_HOST: 'db1', DB_USER: 'cdc' });
    assert.equal(config.source.host, 'db1');
    assert.equal(config.source.user, 'u-cdc');
    assert.equal(config.source.password, 's3cret', 'one trailing newline trimmed');
    const literal = parseConfig(`${minimal}  password: 'a$\${env:X}'\n`, 'x.yaml', {});
    assert.equal(literal.source.password, 'a${env:X}');
  });

  test('a missing variable or secret file names the key, line and what is missing', () => {
    const text = `${minimal}  password: \${env:NO_SUCH_VAR}\nsink:\n  filesystem:\n    root: \${file:missing.txt}\n`;
    const error = expectError(() => parseConfig(text, join(dir, 'sluice.yaml'), {}));
    const [first, second] = error.message.split('\n');
    assert.match(first ?? '', /sluice\.yaml:4:13 source\.password: environment variable NO_SUCH_VAR is not set/);
    assert.match(second ?? '', /sluice\.yaml:7:11 sink\.filesystem\.root: cannot read secret file 'missing\.txt'/);
    assert.equal(error.context.configKey, 'source.password');
  });

  test('a substituted value is never echoed in an error', () => {
    const error = expectError(() => parseConfig(`${minimal}  port: \${env:PORT}\n`, 'sluice.yaml', { PORT: 'hunter2' }));
    assert.doesNotMatch(error.message, /hunter2/);
    assert.match(error.message, /source\.port: expected a number, got a string substituted from '\$\{env:PORT\}'/);
  });

  test('an unreadable file is SLUICE_CONFIG_UNREADABLE', async () => {
    const missing = join(dir, 'nope.yaml');
    await assert.rejects(loadConfig(missing, {}), (error: unknown) => {
      assert.ok(isSluiceError(error, 'SLUICE_CONFIG_UNREADABLE'));
      assert.equal(error.context.file, missing);
      return true;
    });
  });

  test('an empty file asks for the required section', () => {
    const error = expectError(() => parseConfig('', 'sluice.yaml', {}));
    assert.match(error.message, /source: missing required key 'source'/);
  });

  test('redactConfig hides the password without touching the original', () => {
    const config = parseConfig(`${minimal}  password: \${env:PW}\n`, 'x.yaml', { PW: 'topsecret' });
    const redacted = redactConfig(config);
    assert.equal(redacted.source.password, '***');
    assert.equal(config.source.password, 'topsecret');
    assert.doesNotMatch(JSON.stringify(redacted), /topsecret/);
  });
});
