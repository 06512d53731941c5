// A deadline on the ZooKeeper handshake, which node-zookeeper-client 1.1.3 lacks.
//
// The client clears its connect timeout as soon as the TCP connection opens, not when the server's
// ConnectResponse arrives (alexguan/node-zookeeper-client#57, never merged). A server that accepts the
// connection and never answers leaves the client CONNECTING on that socket for good: no ping, no
// retry, every request queued. ZooKeeper 3.9 does exactly this to a client that reconnects while it
// is still loading its database after a restart ("ZooKeeperServer not running", then a
// NullPointerException in its close path leaves the socket open), so a daemon that lived through a
// five-second ZooKeeper restart could wait forever, its session expiring meanwhile. With the deadline
// the socket is destroyed and the client's own reconnect loop tries again, well within the session.
//
// This reaches into the client's ConnectionManager (its `socket`, `state` and `onSocketConnected`),
// which is not public API: the version is pinned in package.json's range, and
// test/zookeeper-handshake.test.ts fails if a new version moves these names.
import type { Client } from 'node-zookeeper-client';

const CONNECTING = 1; // ConnectionManager.STATES.CONNECTING

interface ConnectionManagerInternals {
  state: number;
  socket: { destroy(): void } | undefined;
  pendingBuffer: Buffer | null;
  onSocketConnected(): void;
}

/**
 * Destroys a connection whose handshake has not completed within `timeoutMs` of the TCP connect, so
 * the client reconnects instead of waiting on it forever.
 */
export function guardHandshake(client: Client, timeoutMs: number): void {
  const manager = (client as unknown as { connectionManager?: ConnectionManagerInternals }).connectionManager;
  if (!manager || typeof manager.onSocketConnected !== 'function' || !('pendingBuffer' in manager)) {
    throw new Error('node-zookeeper-client changed its ConnectionManager: the handshake deadline (src/runtime/zookeeper-handshake.ts) needs updating');
  }
  const connected = manager.onSocketConnected;
  manager.onSocketConnected = function guardedOnSocketConnected(this: ConnectionManagerInternals) {
    // Bytes left over from the previous connection (cut mid-reply) belong to no reply on this one;
    // the client would otherwise parse them as the start of the ConnectResponse.
    this.pendingBuffer = null;
    connected.call(this);
    const socket = this.socket;
    setTimeout(() => {
      if (this.state === CONNECTING && this.socket === socket) socket?.destroy();
    }, timeoutMs).unref();
  };
}

/**
 * How long a handshake may take: a third of the session per server, so that a stalled attempt still
 * leaves the session time for another (the Java client allows the whole session divided by the
 * servers, which with one server is the whole session). Never below a second.
 */
export function handshakeTimeoutMs(sessionTimeoutMs: number, connect: string): number {
  const servers = Math.max(1, connect.split(',').filter((server) => server.trim() !== '').length);
  return Math.max(1000, Math.floor(sessionTimeoutMs / 3 / servers));
}
