// What happens between sluice and HiveServer2 when the network or the settings are not what they
// should be: hive-driver alone would hang (a pending call on a dropped connection, a handshake the
// server never answers); sluice reconnects once, and otherwise fails in bounded time with an error
// that names the server and the statement. A TCP proxy in front of the real HiveServer2 drops or
// silences connections on cue.
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { HiveConnection } from '../src/catalog/hive-connection.ts';
import { HiveServer2Catalog } from '../src/catalog/hive-server2-catalog.ts';
import { isSluiceError } from '../src/core/errors.ts';
import { testHdfs, testHiveServer2, type HdfsEndpoints, type HiveEndpoints } from './helpers/servers.ts';

let hive: HiveEndpoints;
let hdfs: HdfsEndpoints;

before(async () => {
  hive = await testHiveServer2();
  hdfs = await testHdfs();
});

/** Forwards to HiveServer2; can drop connections, or swallow the server's answers. */
class FlakyProxy {
  private readonly server: Server = createServer((client) => this.accept(client));
  private readonly sockets = new Set<Socket>();
  /** Connections accepted so far. */
  connections = 0;
  /** Swallow everything the server sends. */
  silent = false;
  /** Drop a connection when the client's n-th message arrives (Thrift writes one message per chunk here). */
  dropAtMessage: number | undefined;
  /** ... but only for the first `dropTimes` connections that reach it. */
  dropTimes = Infinity;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  private accept(client: Socket): void {
    this.connections++;
    const upstream = connect(this.target.port, this.target.host);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    let messages = 0;
    client.on('data', (chunk: Buffer) => {
      messages++;
      if (this.dropAtMessage !== undefined && messages >= this.dropAtMessage && this.dropTimes > 0) {
        this.dropTimes--;
        client.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!this.silent) client.write(chunk);
    });
  }

  /** Drops every open connection. */
  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

function catalogVia(proxy: FlakyProxy, timeouts: { connectTimeoutMs?: number; statementTimeoutMs?: number } = {}): HiveServer2Catalog {
  return new HiveServer2Catalog({
    host: '127.0.0.1',
    port: proxy.port,
    authentication: hive.authentication,
    fsDefaultFS: hdfs.fsDefaultFS,
    connectTimeoutMs: 10_000,
    statementTimeoutMs: 30_000,
    ...timeouts,
  });
}

const proxies: FlakyProxy[] = [];
async function proxy(): Promise<FlakyProxy> {
  const started = await new FlakyProxy(hive).listen();
  proxies.push(started);
  return started;
}
after(async () => {
  for (const started of proxies) await started.close();
});

test('a connection dropped between statements is opened again, and the next statement runs', async () => {
  const flaky = await proxy();
  const catalog = catalogVia(flaky);
  try {
    assert.equal(await catalog.getTable('default', 'no_such_table'), undefined);
    flaky.cut();
    assert.equal(await catalog.getTable('default', 'no_such_table'), undefined);
    assert.equal(flaky.connections, 2);
  } finally {
    await catalog.close();
  }
});

test('a connection dropped under a pending statement: the statement is sent once more on a new connection', async () => {
  const flaky = await proxy();
  const catalog = catalogVia(flaky);
  try {
    // Message 1 opens the session; message 2 is the statement, dropped the first time.
    flaky.dropAtMessage = 2;
    flaky.dropTimes = 1;
    assert.equal(await catalog.getTable('default', 'no_such_table'), undefined);
    assert.equal(flaky.connections, 2);
  } finally {
    await catalog.close();
  }
});

test('a connection dropped under every statement: a retriable SLUICE_CATALOG error naming the server and the statement', async () => {
  const flaky = await proxy();
  const catalog = catalogVia(flaky);
  try {
    flaky.dropAtMessage = 2;
    await assert.rejects(catalog.getTable('default', 'no_such_table'), (error) => {
      assert.ok(isSluiceError(error, 'SLUICE_CATALOG'));
      assert.equal(error.retriable, true);
      assert.match(error.message, new RegExp(`lost the connection to HiveServer2 at 127\\.0\\.0\\.1:${flaky.port} .*twice`));
      assert.match(error.message, /DESCRIBE FORMATTED `default`\.`no_such_table`/);
      return true;
    });
    assert.equal(flaky.connections, 2, 'reconnects once, not in a loop');
  } finally {
    await catalog.close();
  }
});

test('a server that stops answering: the statement fails after statementTimeoutMs naming the server and the statement; the next one reconnects', async () => {
  const flaky = await proxy();
  const catalog = catalogVia(flaky, { statementTimeoutMs: 1_500 });
  try {
    await catalog.getTable('default', 'no_such_table');
    flaky.silent = true;
    const started = Date.now();
    await assert.rejects(catalog.getTable('default', 'no_such_table'), (error) => {
      assert.ok(isSluiceError(error, 'SLUICE_CATALOG'));
      assert.equal(error.retriable, true);
      assert.match(error.message, new RegExp(`no answer from HiveServer2 at 127\\.0\\.0\\.1:${flaky.port} .*within 1500 ms to: DESCRIBE FORMATTED`));
      return true;
    });
    const waited = Date.now() - started;
    assert.ok(waited >= 1_400 && waited < 5_000, `gave up after ${waited} ms`);
    flaky.silent = false;
    assert.equal(await catalog.getTable('default', 'no_such_table'), undefined);
    assert.equal(flaky.connections, 2);
  } finally {
    await catalog.close();
  }
});

test('a client whose authentication does not match the server fails within connectTimeoutMs instead of hanging', async () => {
  // The test server runs NOSASL; a SASL PLAIN client waits for an answer to its handshake that never comes.
  assert.equal(hive.authentication, 'NOSASL');
  const connection = new HiveConnection({ host: hive.host, port: hive.port, authentication: 'NONE', connectTimeoutMs: 1_500 });
  const started = Date.now();
  try {
    await assert.rejects(connection.query('SHOW DATABASES'), (error) => {
      assert.ok(isSluiceError(error, 'SLUICE_CATALOG'));
      assert.match(error.message, new RegExp(`cannot open a session on HiveServer2 at ${hive.host}:${hive.port} \\(binary, NONE\\): no answer within 1500 ms`));
      assert.match(error.message, /hive\.server2\.authentication/);
      return true;
    });
    assert.ok(Date.now() - started < 5_000);
  } finally {
    await connection.close();
  }
});

test('nothing listening on the port: a retriable error naming host:port, at once', async () => {
  const closed = await proxy();
  await closed.close();
  const connection = new HiveConnection({ host: '127.0.0.1', port: closed.port, authentication: 'NOSASL', connectTimeoutMs: 10_000 });
  const started = Date.now();
  try {
    await assert.rejects(connection.execute('SHOW DATABASES'), (error) => {
      assert.ok(isSluiceError(error, 'SLUICE_CATALOG'));
      assert.equal(error.retriable, true);
      assert.match(error.message, new RegExp(`HiveServer2 at 127\\.0\\.0\\.1:${closed.port} .*ECONNREFUSED`));
      return true;
    });
    assert.ok(Date.now() - started < 2_000, 'a refused connection is not waited out');
  } finally {
    await connection.close();
  }
});

test('a statement Hive refuses is a non-retriable SLUICE_CATALOG error with Hive\'s message and the statement', async () => {
  const connection = new HiveConnection({ host: hive.host, port: hive.port, authentication: hive.authentication });
  try {
    await assert.rejects(connection.execute('ALTER TABLE `default`.`no_such_table` ADD COLUMNS (`x` int)'), (error) => {
      assert.ok(isSluiceError(error, 'SLUICE_CATALOG'));
      assert.equal(error.retriable, false);
      assert.equal(error.context.hiveErrorCode, 10001);
      assert.match(error.message, /failed: ALTER TABLE `default`\.`no_such_table` ADD COLUMNS \(`x` int\): .*Table not found/);
      return true;
    });
  } finally {
    await connection.close();
  }
});
