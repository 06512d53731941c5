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

/**
 * Whether the server at host:port offers TLS, read from its greeting on a connection of its own
 * that is closed before logging in. For 'preferred' where the client cannot ask on the connection
 * itself (zongji builds its connections from fixed options). False when no greeting comes: the real
 * connection then fails and says why.
 */
export function serverOffersTls(host: string, port: number, waitMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let received = Buffer.alloc(0);
    const finish = (offers: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(offers);
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const length = received.readUIntLE(0, 3);
      if (received.length < 4 + length) return;
      finish(greetingOffersTls(received.subarray(4, 4 + length)));
    });
    socket.once('end', () => finish(false));
    socket.once('error', () => finish(false));
  });
}

/** Protocol 10 greeting: version, server version (NUL-terminated), thread id (4), scramble (8), filler (1), capabilities (2). */
function greetingOffersTls(payload: Buffer): boolean {
  if (payload[0] !== 10) return false;
  const end = payload.indexOf(0, 1);
  const at = end + 1 + 4 + 8 + 1;
  if (end < 0 || payload.length < at + 2) return false;
  return (payload.readUInt16LE(at) & CLIENT_SSL) !== 0;
}
