// The WebHDFS REST calls sluice makes, on node:http, with NameNode HA failover and one timeout rule.
//
// Why not the `webhdfs` npm package (1.2.0, in package.json since the project started): it takes one
// NameNode (no HA list, no StandbyException handling); it sits on `request`, deprecated since 2020;
// it turns every failure into `new Error(RemoteException.message)`, dropping the HTTP status, the
// exception class and the URL, and treats 502/503/504 as "Unexpected redirect"; it has no timeouts;
// its upload stream pauses the caller's stream by writing `_readableState.flowing` and emits 'finish'
// after 'error'; it mutates one shared URL object per call. What sluice needs is small (seven
// operations, two-step CREATE and OPEN) and must be exact about retries, so it is written here on
// node:http, which, unlike `fetch`, accepts the `100 Continue` a DataNode sends to every PUT.
import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { SluiceError } from '../core/errors.ts';
import { withRetry, type RetryOptions } from '../core/retry.ts';
import {
  firstLine,
  isStandby,
  parseRemoteException,
  webHdfsError,
  type RemoteException,
} from './webhdfs-errors.ts';

export interface WebHdfsClientOptions {
  /** NameNode HTTP addresses in the order to try them: 'http://nn1:9870' (a '/webhdfs/v1' path is kept as given, e.g. behind Knox). */
  namenodes: readonly string[];
  /** `user.name=` of every call (simple authentication). */
  user: string;
  /** `delegation=` of every call, for a secure cluster. */
  delegationToken?: string;
  /** A request fails when its socket makes no progress for this long (connect, send, or wait for an answer). */
  requestTimeoutMs: number;
  logger: Logger;
  retry?: Partial<Pick<RetryOptions, 'initialDelayMs' | 'maxDelayMs' | 'maxAttempts'>>;
  /** Instrumentation: failovers and uploads, for metrics and tests. */
  onEvent?: (event: WebHdfsEvent) => void;
}

export type WebHdfsEvent =
  | { type: 'failover'; from: string; to: string; reason: string }
  | { type: 'upload-started'; path: string; datanode: string; bytes: number }
  | { type: 'upload-finished'; path: string; bytes: number; ms: number };

// A few seconds of retries ride out a dropped connection, a NameNode failover or a DataNode restart;
// a longer outage fails the call, and the daemon's own retry restarts the job from the checkpoint.
const DEFAULT_RETRY = { initialDelayMs: 250, maxDelayMs: 10_000, maxAttempts: 8 };

export interface HttpAnswer {
  url: URL;
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  remote?: RemoteException;
}

type Params = Record<string, string | number | boolean | undefined>;

export class WebHdfsClient {
  private readonly bases: URL[];
  private active = 0;
  private readonly agents = { http: new http.Agent({ keepAlive: true, maxSockets: 16 }), https: new https.Agent({ keepAlive: true, maxSockets: 16 }) };

  constructor(private readonly options: WebHdfsClientOptions) {
    if (options.namenodes.length === 0) throw new SluiceError('SLUICE_CONFIG_INVALID', 'WebHDFS needs at least one NameNode URL');
    this.bases = options.namenodes.map(webhdfsBase);
  }

  /** The NameNode that answered last, as configured ('http://nn1:9870'). */
  get activeNamenode(): string {
    return this.options.namenodes[this.active]!;
  }

  /** Runs `attempt` through the one retry helper, with this client's limits. */
  retry<T>(attempt: (attemptNumber: number) => Promise<T>): Promise<T> {
    let attempts = 0;
    return withRetry(() => attempt(++attempts), { ...DEFAULT_RETRY, ...this.options.retry, logger: this.options.logger });
  }

  /** One NameNode call whose answer is JSON (or empty); a non-2xx answer throws. */
  async call(method: 'GET' | 'PUT' | 'DELETE', op: string, path: string, params: Params = {}): Promise<unknown> {
    const answer = await this.namenode(method, op, path, params);
    if (answer.status < 200 || answer.status >= 300) throw failureOf(op, path, answer);
    if (answer.body.length === 0) return undefined;
    try {
      return JSON.parse(answer.body.toString('utf8'));
    } catch (error) {
      throw webHdfsError({ op, path, url: answer.url, status: answer.status, cause: error, detail: `not JSON: ${answer.body.toString('utf8', 0, 200)}` });
    }
  }

  /**
   * One attempt at writing a local file to `path` (CREATE): the NameNode names a DataNode, the file is
   * streamed to it from disk (never whole in memory), and the DataNode answers after the pipeline has
   * acknowledged the last packet and the file is closed.
   */
  async upload(path: string, localFile: string, length: number, params: Params): Promise<void> {
    const target = await this.redirect('PUT', 'CREATE', path, params);
    if (!target.location) throw failureOf('CREATE', path, target.answer);
    const started = Date.now();
    this.options.onEvent?.({ type: 'upload-started', path, datanode: target.location.origin, bytes: length });
    const answer = await this.send(target.location, 'PUT', 'CREATE', path, { body: { stream: createReadStream(localFile), length } });
    if (answer.status !== 201 && answer.status !== 200) throw failureOf('CREATE', path, answer);
    this.options.onEvent?.({ type: 'upload-finished', path, bytes: length, ms: Date.now() - started });
  }

  /** One attempt at reading a whole file (OPEN, following the NameNode's redirect to a DataNode). */
  async download(path: string): Promise<Buffer> {
    const target = await this.redirect('GET', 'OPEN', path, {});
    // HttpFS and some gateways answer OPEN themselves instead of redirecting.
    if (!target.location) {
      if (target.answer.status === 200) return target.answer.body;
      throw failureOf('OPEN', path, target.answer);
    }
    const answer = await this.send(target.location, 'GET', 'OPEN', path, {});
    if (answer.status !== 200) throw failureOf('OPEN', path, answer);
    const expected = Number(answer.headers['content-length']);
    if (Number.isFinite(expected) && answer.body.length !== expected) {
      throw webHdfsError({ op: 'OPEN', path, url: answer.url, retriable: true, detail: `received ${answer.body.length} of ${expected} bytes` });
    }
    return answer.body;
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  /** The NameNode step of a two-step operation: its 307 Location (or the JSON {Location} of noredirect). */
  private async redirect(method: 'GET' | 'PUT', op: string, path: string, params: Params): Promise<{ location?: URL; answer: HttpAnswer }> {
    const answer = await this.namenode(method, op, path, params);
    let location: string | undefined;
    if (answer.status === 307 || answer.status === 302 || answer.status === 303) {
      location = answer.headers.location;
    } else if (answer.status === 200 && /json/.test(answer.headers['content-type'] ?? '')) {
      try {
        location = (JSON.parse(answer.body.toString('utf8')) as { Location?: string }).Location;
      } catch {
        location = undefined; // not a redirect: the caller reports the answer
      }
    }
    return location ? { location: new URL(location, answer.url), answer } : { answer };
  }

  /**
   * One call to the NameNodes, starting with the one that answered last. A NameNode that refuses the
   * connection or answers StandbyException is skipped for the next; the first real answer (success or
   * not) is returned and its NameNode remembered. When none answers, the error is retriable: an HA
   * failover takes seconds.
   */
  private async namenode(method: string, op: string, path: string, params: Params): Promise<HttpAnswer> {
    const count = this.bases.length;
    const skipped: string[] = [];
    let last: SluiceError | undefined;
    for (let step = 0; step < count; step++) {
      const index = (this.active + step) % count;
      const url = this.operationUrl(index, op, path, params);
      let answer: HttpAnswer;
      try {
        answer = await this.send(url, method, op, path, { keepAlive: true });
      } catch (error) {
        if (isConnectFailure(error)) {
          last = error as SluiceError;
          skipped.push(`${this.options.namenodes[index]}: ${describeCause(error)}`);
          continue;
        }
        // It took the request and then went silent or dropped it: the retry starts with its peer, since
        // a hung active NameNode is fenced and replaced by the standby.
        if (count > 1) this.switchTo((index + 1) % count, `${describeCause(error)} from ${this.options.namenodes[index]}`);
        throw error;
      }
      if (isStandby(answer.remote)) {
        last = failureOf(op, path, answer);
        skipped.push(`${this.options.namenodes[index]}: standby`);
        continue;
      }
      if (index !== this.active) this.switchTo(index, skipped.join('; '));
      return answer;
    }
    if (count === 1 && last) throw last;
    throw new SluiceError(
      'SLUICE_FILESYSTEM',
      `WebHDFS ${op} ${path}: no active NameNode among ${this.options.namenodes.join(', ')} (${skipped.join('; ')})`,
      { retriable: true, cause: last, context: { file: path, op, server: this.options.namenodes.join(',') } },
    );
  }

  private switchTo(index: number, reason: string): void {
    const from = this.options.namenodes[this.active]!;
    const to = this.options.namenodes[index]!;
    this.active = index;
    this.options.logger.warn({ from, to, reason }, 'WebHDFS: switching NameNode');
    this.options.onEvent?.({ type: 'failover', from, to, reason });
  }

  private operationUrl(index: number, op: string, path: string, params: Params): URL {
    const url = new URL(this.bases[index]!.href);
    url.pathname = url.pathname + encodeHdfsPath(path);
    const query = new URLSearchParams({ op });
    query.set('user.name', this.options.user);
    if (this.options.delegationToken) query.set('delegation', this.options.delegationToken);
    for (const [key, value] of Object.entries(params)) if (value !== undefined) query.set(key, String(value));
    url.search = query.toString();
    return url;
  }

  /** One HTTP exchange; socket failures and timeouts become SluiceErrors naming the URL, op and path. */
  private async send(
    url: URL,
    method: string,
    op: string,
    path: string,
    options: { body?: { stream: Readable; length: number }; keepAlive?: boolean },
  ): Promise<HttpAnswer> {
    // Keep-alive for the many small NameNode calls; a DataNode transfer gets a connection of its own
    // (it is long, and the DataNode closes it anyway).
    const agent = options.keepAlive ? (url.protocol === 'https:' ? this.agents.https : this.agents.http) : false;
    const result = await exchange(url, method, this.options.requestTimeoutMs, agent, options.body).catch(
      (error: unknown) => {
        const failure = webHdfsError({ op, path, url, cause: error });
        if ((error as ExchangeError).beforeConnect) failure.context.beforeConnect = true;
        throw failure;
      },
    );
    const remote = result.status >= 400 ? parseRemoteException(result.body.toString('utf8')) : undefined;
    return { url, ...result, ...(remote ? { remote } : {}) };
  }
}

function failureOf(op: string, path: string, answer: HttpAnswer): SluiceError {
  const detail = answer.remote ? undefined : firstLine(answer.body.toString('utf8', 0, 300)) || undefined;
  return webHdfsError({ op, path, url: answer.url, status: answer.status, ...(answer.remote ? { remote: answer.remote } : {}), ...(detail ? { detail } : {}) });
}

/** Nothing reached the server: safe to try another NameNode at once, whatever the operation. */
function isConnectFailure(error: unknown): boolean {
  return error instanceof SluiceError && error.context.beforeConnect === true;
}

function describeCause(error: unknown): string {
  const cause = (error as { cause?: NodeJS.ErrnoException }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

/** 'http://nn1:9870' -> 'http://nn1:9870/webhdfs/v1'; a URL that already ends in /webhdfs/v1 is kept. */
export function webhdfsBase(namenode: string): URL {
  const url = new URL(namenode);
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = path.endsWith('/webhdfs/v1') ? path : `${path}/webhdfs/v1`;
  url.search = '';
  url.hash = '';
  return url;
}

/** Percent-encodes each segment of an absolute HDFS path ('%' in Hive's escaped partition names included). */
export function encodeHdfsPath(path: string): string {
  if (!path.startsWith('/')) {
    throw new SluiceError('SLUICE_FILESYSTEM', `WebHDFS path ${path} must be absolute`, { context: { file: path } });
  }
  return path
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}

interface ExchangeError extends Error {
  code?: string;
  beforeConnect?: boolean;
}

/**
 * A bare HTTP exchange on node:http. The body, if any, is streamed with its Content-Length, so memory
 * stays at the stream's buffer whatever the file size. The timeout is one of inactivity: a large upload
 * may take long, but not `timeoutMs` without moving a byte.
 */
function exchange(
  url: URL,
  method: string,
  timeoutMs: number,
  agent: http.Agent | false,
  body?: { stream: Readable; length: number },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let connected = false;
    const headers: http.OutgoingHttpHeaders = {};
    if (body) {
      headers['content-type'] = 'application/octet-stream';
      headers['content-length'] = body.length;
    } else if (method === 'PUT' || method === 'POST') {
      headers['content-length'] = 0; // not chunked: some proxies refuse an empty chunked PUT
    }
    const lib = url.protocol === 'https:' ? https : http;
    const request = lib.request(url, { method, headers, agent });
    const fail = (error: ExchangeError): void => {
      if (settled) return;
      settled = true;
      error.beforeConnect = !connected;
      body?.stream.destroy();
      request.destroy();
      reject(error);
    };
    request.setTimeout(timeoutMs, () => {
      fail(
        new SluiceError('SLUICE_HTTP_TIMEOUT', `no progress for ${timeoutMs} ms (${connected ? 'waiting for the server' : 'connecting'})`, {
          retriable: true,
          context: { server: url.origin },
        }),
      );
    });
    request.on('socket', (socket) => {
      if (!socket.connecting) connected = true;
      else socket.once('connect', () => (connected = true));
    });
    request.on('error', (error: ExchangeError) => {
      // A refused or unresolvable connection never reached the server, whatever `connected` says.
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOTFOUND' || error.code === 'EHOSTUNREACH' || error.code === 'ENETUNREACH') connected = false;
      fail(error);
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', (error: ExchangeError) => fail(error));
      response.on('close', () => {
        if (settled) return;
        if (!response.complete) {
          const error: ExchangeError = new Error('the connection closed before the answer was complete');
          error.code = 'ECONNRESET';
          fail(error);
          return;
        }
        settled = true;
        // A server may answer (an error, typically) before reading the whole body: stop sending it.
        body?.stream.destroy();
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) });
      });
    });
    if (body) {
      body.stream.on('error', (error: ExchangeError) => fail(error));
      body.stream.pipe(request);
    } else {
      request.end();
    }
  });
}
