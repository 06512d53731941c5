// WebHDFS when the way to HDFS fails: NameNode HA failover (a dead address, a standby NameNode) and
// retries of dropped or refused requests, each ending with the file in HDFS exactly once.
//
// The standby NameNode is a fake (a tiny HTTP server answering what a standby answers): a second real
// NameNode in HA needs ZooKeeper and JournalNodes. The faults are injected by a small HTTP proxy in
// front of the real NameNode and DataNode.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { isSluiceError } from '../src/core/errors.ts';
import { WebHdfsFileSystem, type WebHdfsFileSystemOptions } from '../src/filesystem/webhdfs-filesystem.ts';
import type { WebHdfsEvent } from '../src/filesystem/webhdfs-client.ts';
import { freePort } from './servers/mariadb.ts';
import { testHdfs } from './helpers/servers.ts';

const silent = pino({ level: 'silent' });
const MiB = 1024 * 1024;
const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
// Short waits: the point is what happens, not how long the production backoff is.
const quickRetry = { initialDelayMs: 20, maxDelayMs: 200, maxAttempts: 6 };

describe('WebHDFS failover and retries', () => {
  let namenode: string;
  const root = `/sluice-test/webhdfs-failover-${randomUUID().slice(0, 8)}`;
  const open: WebHdfsFileSystem[] = [];
  const servers: http.Server[] = [];

  before(async () => {
    namenode = `http://127.0.0.1:${(await testHdfs()).namenodeHttpPort}`;
  });

  after(async () => {
    const cleanup = fileSystem({ namenodes: [namenode] });
    await cleanup.fs.delete(root, true).catch(() => undefined);
    for (const fs of open) fs.close();
    for (const server of servers) server.closeAllConnections();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  function fileSystem(options: Partial<WebHdfsFileSystemOptions> & Pick<WebHdfsFileSystemOptions, 'namenodes'>): { fs: WebHdfsFileSystem; events: WebHdfsEvent[] } {
    const events: WebHdfsEvent[] = [];
    const fs = new WebHdfsFileSystem({ logger: silent, retry: quickRetry, requestTimeoutMs: 10_000, onEvent: (event) => events.push(event), ...options });
    open.push(fs);
    return { fs, events };
  }

  async function listen(server: http.Server): Promise<string> {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async function roundTrip(fs: WebHdfsFileSystem, path: string, data: Buffer): Promise<void> {
    const writer = await fs.create(path);
    for (let offset = 0; offset < data.length; offset += MiB) await writer.write(data.subarray(offset, offset + MiB));
    await writer.close();
    assert.equal(sha(await fs.readFile(path)), sha(data));
  }

  test('a dead NameNode address first: the next one is used, and remembered', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const { fs, events } = fileSystem({ namenodes: [dead, namenode] });
    await roundTrip(fs, `${root}/ha-dead/f`, randomBytes(100_000));
    await fs.list(`${root}/ha-dead`);
    await fs.rename(`${root}/ha-dead/f`, `${root}/ha-dead/g`);
    assert.equal(fs.activeNamenode, namenode);
    const failovers = events.filter((event) => event.type === 'failover');
    assert.equal(failovers.length, 1, 'one switch, then the live NameNode is asked first');
    assert.deepEqual({ ...failovers[0], reason: undefined }, { type: 'failover', from: dead, to: namenode, reason: undefined });
    assert.match(failovers[0]!.type === 'failover' ? failovers[0]!.reason : '', /ECONNREFUSED/);
  });

  test('a standby NameNode first: StandbyException fails over to the active one, which is remembered', async () => {
    let standbyRequests = 0;
    const standby = await listen(
      http.createServer((req, res) => {
        standbyRequests++;
        req.resume();
        // What a standby NameNode's WebHDFS answers to every operation.
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            RemoteException: {
              exception: 'StandbyException',
              javaClassName: 'org.apache.hadoop.ipc.StandbyException',
              message: 'Operation category READ is not supported in state standby. Visit https://s.apache.org/sbnn-error',
            },
          }),
        );
      }),
    );
    const { fs, events } = fileSystem({ namenodes: [standby, namenode] });
    await roundTrip(fs, `${root}/ha-standby/f`, randomBytes(100_000));
    await fs.status(`${root}/ha-standby/f`);
    assert.equal(standbyRequests, 1);
    assert.equal(fs.activeNamenode, namenode);
    assert.equal(events.filter((event) => event.type === 'failover').length, 1);
  });

  test('no active NameNode: a retriable error that names every address and what each said', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const standby = await listen(
      http.createServer((req, res) => {
        req.resume();
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ RemoteException: { exception: 'StandbyException', javaClassName: 'org.apache.hadoop.ipc.StandbyException', message: 'standby' } }));
      }),
    );
    const { fs } = fileSystem({ namenodes: [dead, standby], retry: { ...quickRetry, maxAttempts: 2 } });
    await assert.rejects(fs.status(`${root}/x`), (error: unknown) => {
      assert.ok(isSluiceError(error, 'SLUICE_FILESYSTEM'));
      assert.equal(error.retriable, true);
      assert.match(error.message, new RegExp(`GETFILESTATUS ${root}/x: no active NameNode among ${dead}, ${standby} \\(${dead}: ECONNREFUSED; ${standby}: standby\\)`));
      return true;
    });
  });

  test('the data connection of an upload drops: the retried upload lands exactly once', async () => {
    const proxy = await faultProxy(namenode, ({ kind, op, count }) => (kind === 'datanode' && op === 'CREATE' && count === 1 ? 'drop-request-after-1MiB' : 'pass'));
    servers.push(proxy.server);
    const { fs, events } = fileSystem({ namenodes: [proxy.url] });
    const data = randomBytes(8 * MiB);
    await roundTrip(fs, `${root}/drop/.data/f`, data);
    assert.equal(events.filter((event) => event.type === 'upload-started').length, 2, 'two attempts');
    assert.equal(proxy.count('datanode', 'CREATE'), 2);
    // The dropped attempt's partial file is deleted; only the file itself is there.
    const direct = fileSystem({ namenodes: [namenode] }).fs;
    assert.deepEqual(await direct.list(`${root}/drop/.data`), [{ path: `${root}/drop/.data/f`, type: 'file', length: data.length }]);
  });

  test('a NameNode answers 503 once: the upload is retried and lands exactly once', async () => {
    const proxy = await faultProxy(namenode, ({ kind, op, count }) => (kind === 'namenode' && op === 'CREATE' && count === 1 ? '503' : 'pass'));
    servers.push(proxy.server);
    const { fs } = fileSystem({ namenodes: [proxy.url] });
    const data = randomBytes(2 * MiB);
    await roundTrip(fs, `${root}/busy/f`, data);
    assert.equal(proxy.count('namenode', 'CREATE'), 2);
    assert.deepEqual(await fs.list(`${root}/busy`), [{ path: `${root}/busy/f`, type: 'file', length: data.length }]);
  });

  test('a DataNode that goes silent mid-upload: the attempt times out and the retry lands exactly once', async () => {
    const proxy = await faultProxy(namenode, ({ kind, op, count }) => (kind === 'datanode' && op === 'CREATE' && count === 1 ? 'stall-request-after-1MiB' : 'pass'));
    servers.push(proxy.server);
    const { fs, events } = fileSystem({ namenodes: [proxy.url], requestTimeoutMs: 800 });
    const data = randomBytes(4 * MiB);
    const started = Date.now();
    await roundTrip(fs, `${root}/stall/f`, data);
    assert.ok(Date.now() - started >= 800, 'the first attempt waited for its timeout');
    assert.equal(events.filter((event) => event.type === 'upload-started').length, 2);
    assert.deepEqual(await fs.list(`${root}/stall`), [{ path: `${root}/stall/f`, type: 'file', length: data.length }]);
  });

  test('the answer to a RENAME is lost: the retry finds it done, in an upload and in a commit', async () => {
    const proxy = await faultProxy(namenode, ({ op, count }) => (op === 'RENAME' && count <= 2 ? 'drop-response' : 'pass'));
    servers.push(proxy.server);
    const { fs } = fileSystem({ namenodes: [proxy.url] });
    const writer = await fs.create(`${root}/lost-answer/.data/f`);
    await writer.write('once');
    await writer.close(); // RENAME 1: the upload's hidden name to the path; the retry sees the file in place
    await fs.rename(`${root}/lost-answer/.data/f`, `${root}/lost-answer/f`); // RENAME 2 lost, RENAME 3: source gone, target there
    assert.equal(proxy.count('namenode', 'RENAME'), 3);
    assert.deepEqual(await fs.list(`${root}/lost-answer/.data`), []);
    assert.equal((await fs.readFile(`${root}/lost-answer/f`)).toString(), 'once');
  });

  test('user.name and the delegation token go on every NameNode call', async () => {
    const proxy = await faultProxy(namenode, () => 'pass');
    servers.push(proxy.server);
    const { fs } = fileSystem({ namenodes: [proxy.url], user: 'hive', delegationToken: 'T0KEN' });
    await roundTrip(fs, `${root}/params/f`, Buffer.from('x'));
    await fs.rename(`${root}/params/f`, `${root}/params/g`);
    await fs.delete(`${root}/params`, true);
    const calls = proxy.requests.filter((request) => request.kind === 'namenode');
    assert.ok(calls.length >= 6);
    for (const call of calls) {
      assert.equal(call.query.get('user.name'), 'hive', `${call.method} ${call.op}`);
      assert.equal(call.query.get('delegation'), 'T0KEN', `${call.method} ${call.op}`);
    }
  });
});

type Fault = 'pass' | '503' | 'drop-request-after-1MiB' | 'stall-request-after-1MiB' | 'drop-response';
interface ProxiedRequest {
  kind: 'namenode' | 'datanode';
  method: string;
  op: string;
  query: URLSearchParams;
  /** 1 for the first request of this kind and op. */
  count: number;
}

/**
 * An HTTP proxy in front of a NameNode that rewrites its redirects so that DataNode requests pass it
 * too (as /__dn/<port>/...), and injects the fault `decide` picks for each request.
 */
async function faultProxy(namenode: string, decide: (request: ProxiedRequest) => Fault) {
  const namenodePort = Number(new URL(namenode).port);
  const requests: ProxiedRequest[] = [];
  const server = http.createServer((req, res) => {
    const dn = /^\/__dn\/(\d+)(\/.*)$/.exec(req.url ?? '');
    const upstreamPort = dn ? Number(dn[1]) : namenodePort;
    const upstreamPath = dn ? dn[2]! : req.url!;
    const query = new URL(upstreamPath, 'http://x').searchParams;
    const kind = dn ? 'datanode' : 'namenode';
    const op = (query.get('op') ?? '').toUpperCase();
    const count = requests.filter((r) => r.kind === kind && r.op === op).length + 1;
    const request: ProxiedRequest = { kind, method: req.method!, op, query, count };
    requests.push(request);
    const fault = decide(request);
    if (fault === '503') {
      req.resume();
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('Service Unavailable');
      return;
    }
    const headers = { ...req.headers };
    delete headers.host;
    const upstream = http.request({ host: '127.0.0.1', port: upstreamPort, path: upstreamPath, method: req.method, headers }, (answer) => {
      if (fault === 'drop-response') {
        answer.resume();
        answer.on('end', () => req.socket.destroy());
        return;
      }
      const location = answer.headers.location;
      const rewritten = location ? location.replace(/^http:\/\/127\.0\.0\.1:(\d+)\//, `http://127.0.0.1:${port()}/__dn/$1/`) : undefined;
      res.writeHead(answer.statusCode ?? 502, { ...answer.headers, ...(rewritten ? { location: rewritten } : {}) });
      answer.pipe(res);
    });
    upstream.on('error', () => req.socket.destroy());
    if (fault === 'drop-request-after-1MiB' || fault === 'stall-request-after-1MiB') {
      let seen = 0;
      req.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen < MiB) return;
        if (fault === 'drop-request-after-1MiB') {
          req.socket.destroy();
          upstream.destroy();
        } else {
          // Stop reading and answer nothing, as a hung DataNode does; the client's timeout ends it.
          req.unpipe(upstream);
          req.pause();
          upstream.removeAllListeners('error');
          upstream.on('error', () => undefined);
          upstream.destroy();
        }
      });
    }
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = () => (server.address() as AddressInfo).port;
  return {
    server,
    url: `http://127.0.0.1:${port()}`,
    requests,
    count: (kind: ProxiedRequest['kind'], op: string) => requests.filter((r) => r.kind === kind && r.op === op).length,
  };
}
