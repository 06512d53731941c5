// What answers on a port that did not complete a MySQL handshake. A MySQL server speaks first (its
// greeting, or an error packet such as "too many connections"); an HTTP server waits for a request,
// so a MySQL client only sees a timeout. This asks once more, by hand, to tell "not MySQL" apart.
import { connect } from 'node:net';

export type GreetingVerdict =
  /** Nothing accepts the connection (refused, no route, timeout). */
  | { kind: 'unreachable' }
  /** The first bytes are a MySQL packet: the server is MySQL, only slow or busy. */
  | { kind: 'mysql' }
  /** It accepts the connection but says nothing, even when spoken to. */
  | { kind: 'silent' }
  /** It speaks, but not MySQL: `sample` is the start of what it said, printable. */
  | { kind: 'other'; sample: string };

// Sent only when the peer stays silent: an HTTP server answers it with "400 Bad Request".
const NUDGE = 'sluice\r\n\r\n';

export function probeGreeting(host: string, port: number, waitMs: number): Promise<GreetingVerdict> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let nudged = false;
    let received = Buffer.alloc(0);
    const finish = (verdict: GreetingVerdict): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(verdict);
    };
    const judge = (): void => {
      if (received.length === 0) finish({ kind: 'silent' });
      else finish(isMysqlPacket(received) ? { kind: 'mysql' } : { kind: 'other', sample: printable(received) });
    };
    let timer = setTimeout(() => finish({ kind: 'unreachable' }), waitMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (received.length > 0 || nudged) return judge();
        nudged = true;
        socket.write(NUDGE);
        timer = setTimeout(judge, waitMs);
      }, waitMs);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]).subarray(0, 256);
      // A MySQL greeting comes whole in its first packet; anything else is judged on what came.
      if (received.length >= 5) judge();
    });
    socket.once('end', judge);
    socket.once('error', () => (received.length > 0 ? judge() : finish({ kind: socket.connecting ? 'unreachable' : 'silent' })));
  });
}

/** A MySQL packet: 3-byte length, sequence 0, then protocol version 10 (greeting) or 0xff (error). */
function isMysqlPacket(bytes: Buffer): boolean {
  const length = bytes.readUIntLE(0, 3);
  return length > 0 && length < 1 << 16 && bytes[3] === 0 && (bytes[4] === 10 || bytes[4] === 0xff);
}

function printable(bytes: Buffer): string {
  const text = bytes.subarray(0, 60).toString('latin1').replace(/[^\x20-\x7e]/g, (c) => (c === '\r' || c === '\n' ? ' ' : '.'));
  return JSON.stringify(text.replace(/\s+/g, ' ').trim());
}

// CLIENT_SSL in the greeting's capability flags: the server can switch the connection to TLS.
const CLIENT_SSL = 0x0800;

/** What a server's greeting says before any login. */
export interface Greeting {
  /** CLIENT_SSL: the server can switch the connection to TLS. */
  offersTls: boolean;
  /** The server's default password plugin ('caching_sha2_password' on MySQL 8+), when it names one. */
  authPlugin: string | undefined;
}

/**
 * The greeting of the server at host:port, read on a connection of its own that is closed before
 * logging in; undefined when no greeting comes (the real connection then fails and says why). For
 * 'preferred' where the client cannot ask on the connection itself (zongji builds its connections
 * from fixed options), and to explain a refused login.
 */
export function readGreeting(host: string, port: number, waitMs: number): Promise<Greeting | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let received = Buffer.alloc(0);
    const finish = (greeting: Greeting | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(greeting);
    };
    const timer = setTimeout(() => finish(undefined), waitMs);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const length = received.readUIntLE(0, 3);
      if (received.length < 4 + length) return;
      finish(parseGreeting(received.subarray(4, 4 + length)));
    });
    socket.once('end', () => finish(undefined));
    socket.once('error', () => finish(undefined));
  });
}

/**
 * Protocol 10: version, server version (NUL-terminated), thread id (4), scramble (8), filler (1),
 * capabilities (2), then charset (1), status (2), capabilities (2), scramble length (1), reserved
 * (10), the rest of the scramble (at least 13) and the plugin name (NUL-terminated).
 */
function parseGreeting(payload: Buffer): Greeting | undefined {
  if (payload[0] !== 10) return undefined;
  const end = payload.indexOf(0, 1);
  const at = end + 1 + 4 + 8 + 1;
  if (end < 0 || payload.length < at + 2) return undefined;
  const offersTls = (payload.readUInt16LE(at) & CLIENT_SSL) !== 0;
  const scrambleLength = payload[at + 7] ?? 0;
  const pluginAt = at + 2 + 1 + 2 + 2 + 1 + 10 + Math.max(13, scrambleLength - 8);
  if (payload.length <= pluginAt) return { offersTls, authPlugin: undefined };
  const pluginEnd = payload.indexOf(0, pluginAt);
  return { offersTls, authPlugin: payload.subarray(pluginAt, pluginEnd < 0 ? payload.length : pluginEnd).toString('latin1') || undefined };
}
