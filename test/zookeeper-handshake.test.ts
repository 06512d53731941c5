// The leader's ZooKeeper client must not wait forever on a server that accepts its reconnection and
// never answers the handshake: ZooKeeper 3.9 does that to a client that reconnects while it is still
// loading its database after a restart (a CI run lost a leader that way: every check answered "no
// answer within 10000 ms" for minutes after a five-second outage). A TCP proxy in front of the real
// ZooKeeper plays that server: it cuts the leader's connection, then holds every new connection open
// without passing a byte on for a while, then passes connections through again. The leader must be
// able to prove it leads within a few seconds of that, its session and leadership intact.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import zookeeper from 'node-zookeeper-client';
import { pino } from 'pino';
import { guardHandshake, handshakeTimeoutMs } from '../src/runtime/zookeeper-handshake.ts';
import { electLeader } from '../src/runtime/zookeeper-leadership.ts';
import { testZooKeeper } from './helpers/servers.ts';

const SESSION_MS = 9000;

test('a leader whose reconnection meets a server that never answers the handshake connects again and still leads', { timeout: 2 * 60_000 }, async () => {
  const zk = await testZooKeeper();
  const proxy = await stallingProxy(zk.connect);
  const settings = { connect: `127.0.0.1:${proxy.port}`, path: `/sluice-test/handshake-${randomUUID().slice(0, 8)}`, sessionTimeoutMs: SESSION_MS };
  const leader = await electLeader(settings, pino({ level: 'silent' }));
  let lost: unknown;
  void leader.lost.then((error) => (lost = error));
  try {
    await leader.check();
    proxy.stall();
    proxy.cutAll();
    // Long enough for the client to have reconnected into the stall, short of the session.
    await sleep(2500);
    assert.ok(proxy.stalledConnections() > 0, 'the client reconnected into the stalled server');
    proxy.pass();
    const started = Date.now();
    await retryUntil(() => leader.check(), SESSION_MS);
    const took = Date.now() - started;
    assert.equal(lost, undefined, 'leadership was never lost');
    assert.ok(took < SESSION_MS, `the leader proved it leads ${took} ms after the server answered again`);
  } finally {
    leader.close();
    proxy.close();
  }
});

test('the handshake deadline finds the client internals it relies on', () => {
  const client = zookeeper.createClient('127.0.0.1:1');
  assert.doesNotThrow(() => guardHandshake(client, 1000));
  assert.equal(handshakeTimeoutMs(9000, 'a:1,b:2,c:3/chroot'), 1000);
  assert.equal(handshakeTimeoutMs(30_000, 'a:1'), 10_000);
  assert.equal(handshakeTimeoutMs(30_000, 'a:1,b:2'), 5000);
});

interface StallingProxy {
  port: number;
  /** New connections are accepted and held: nothing passes either way. */
  stall(): void;
  /** New connections pass through to ZooKeeper again. */
  pass(): void;
  cutAll(): void;
  stalledConnections(): number;
  close(): void;
}

async function stallingProxy(target: string): Promise<StallingProxy> {
  const [host, port] = target.split(':') as [string, string];
  const sockets = new Set<Socket>();
  let stalling = false;
  let stalled = 0;
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (stalling) {
      stalled += 1;
      return;
    }
    const upstream = createConnection({ host, port: Number(port) });
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => undefined);
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    stall: () => (stalling = true),
    pass: () => (stalling = false),
    cutAll: () => {
      for (const socket of sockets) socket.destroy();
    },
    stalledConnections: () => stalled,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

async function retryUntil(attempt: () => Promise<void>, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      await attempt();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(200);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
