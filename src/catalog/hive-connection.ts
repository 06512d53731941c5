// One HiveServer2 session through hive-driver, with what the driver leaves out: a deadline on every
// call (hive-driver waits forever when the client's authentication does not match the server's, and
// when a connection drops under a pending call), one transparent reconnect when the connection or the
// session is gone, statements one at a time, and errors that name the server and the statement.
import type HiveDriver from 'hive-driver';
import { SluiceError } from '../core/errors.ts';
import { withRetry } from '../core/retry.ts';
import { isTransient } from '../core/transient.ts';

/**
 * hive.server2.authentication of the server. NOSASL is a plain Thrift socket; NONE, LDAP, PAM and
 * CUSTOM all speak SASL PLAIN with a user name and password (NONE accepts any). KERBEROS is named so
 * that a configuration can say it, and refused: not supported yet (hive-driver's Kerberos needs the
 * native `kerberos` package and a ticket cache).
 */
export type HiveAuthentication = 'NOSASL' | 'NONE' | 'LDAP' | 'PAM' | 'CUSTOM' | 'KERBEROS';
/** hive.server2.transport.mode of the server. */
export type HiveTransport = 'binary' | 'http';

export interface HiveTlsOptions {
  /** PEM of the CA(s) that signed the server's certificate; Node's bundled CAs when absent. */
  ca?: string | Buffer;
  /** Client certificate and key (PEM), for a server that asks for one. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Verify the server's certificate and name. Default true (hive-driver's own default is false). */
  rejectUnauthorized?: boolean;
  /** The name to verify the certificate against, when it differs from `host`. */
  servername?: string;
}

export interface HiveConnectionOptions {
  host: string;
  /** hive.server2.thrift.port (10000) for binary, hive.server2.thrift.http.port (10001) for http. */
  port: number;
  /** The session's current database. sluice names the database in every statement; this only has to exist. */
  database?: string;
  authentication: HiveAuthentication;
  /** The user to log in as (SASL PLAIN, HTTP Basic) and the session's user name. Default 'sluice'. */
  user?: string;
  password?: string;
  transport?: HiveTransport;
  /** hive.server2.thrift.http.path, for the http transport. Default 'cliservice'. */
  httpPath?: string;
  /** TLS (hive.server2.use.SSL=true) when present. */
  tls?: HiveTlsOptions;
  /** Connecting and opening a session. Default 30 s. */
  connectTimeoutMs?: number;
  /** One statement, from sending it to the last row. Default 300 s. */
  statementTimeoutMs?: number;
}

export type HiveRow = Record<string, unknown>;

const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
const DEFAULT_STATEMENT_TIMEOUT_MS = 300_000;
const FETCH_SIZE = 10_000;
const MAX_STATEMENT_IN_MESSAGE = 2_000;

// hive-driver (with thrift) is loaded at the first connection, not with the daemon: a daemon on the
// local catalog never needs it. Everything below that uses it runs after connect().
let hive: typeof HiveDriver;
let types: typeof HiveDriver.thrift.TCLIService_types;
async function loadHiveDriver(): Promise<void> {
  // The module's named exports: Node's import() of this CommonJS module also offers them as
  // `default`, but tsx's (esbuild's) does not, since the module says `__esModule`.
  const driver = (await import('hive-driver')) as unknown as typeof HiveDriver & { default?: typeof HiveDriver };
  hive ??= driver.thrift ? driver : driver.default!;
  types ??= hive.thrift.TCLIService_types;
}
type HiveClientInstance = InstanceType<typeof HiveDriver.HiveClient>;
type HiveSessionInstance = Awaited<ReturnType<HiveClientInstance['openSession']>>;
type Transport = Parameters<InstanceType<typeof HiveDriver.auth.NoSaslAuthentication>['authenticate']>[0];

/** The connection is gone (socket closed or failed, or the server forgot the session). */
class ConnectionLost extends Error {}

interface Live {
  session: HiveSessionInstance;
  /** Rejects with ConnectionLost when the connection drops. */
  lost: Promise<never>;
  /** True once the connection dropped. */
  dead(): boolean;
  destroy(): void;
}

export class HiveConnection {
  /** 'host:port', as errors name the server. */
  readonly server: string;
  /** The open session; statements run one at a time, so only one caller ever opens it. */
  private live: Live | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: HiveConnectionOptions) {
    this.server = `${options.host}:${options.port}`;
    if (options.authentication === 'KERBEROS') {
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        'HiveServer2 with Kerberos authentication is not supported yet; use LDAP (or PAM/CUSTOM) on the server sluice talks to, or an http gateway such as Knox',
        { context: { server: this.server } },
      );
    }
    if ((options.transport ?? 'binary') === 'http' && options.authentication === 'NOSASL') {
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        'HiveServer2 over http does not speak NOSASL; use authentication NONE (or LDAP, ...) with the http transport',
        { context: { server: this.server } },
      );
    }
  }

  get description(): string {
    const { transport = 'binary', authentication, tls } = this.options;
    return `HiveServer2 at ${this.server} (${transport}${tls ? '+TLS' : ''}, ${authentication})`;
  }

  /** Runs a statement that returns rows (SHOW, DESCRIBE, SELECT) and returns them all. */
  query(statement: string): Promise<HiveRow[]> {
    return this.serial(() => this.run(statement, true));
  }

  /** Runs a statement for its effect (DDL). */
  async execute(statement: string): Promise<void> {
    await this.serial(() => this.run(statement, false));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.tail.catch(() => undefined);
    const live = this.live;
    this.live = undefined;
    if (!live) return;
    if (!live.dead()) {
      try {
        await withDeadline(live.session.close(), 2_000, () => new Error('close timed out'));
      } catch {
        // The server drops the session with the connection anyway.
      }
    }
    live.destroy();
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async run(statement: string, fetch: boolean): Promise<HiveRow[]> {
    if (this.closed) throw new SluiceError('SLUICE_CATALOG', `${this.description} is closed`, { context: { server: this.server } });
    const attempt = async (): Promise<HiveRow[]> => {
      const live = await this.session();
      try {
        return await this.runOn(live, statement, fetch);
      } catch (error) {
        if (error instanceof ConnectionLost) this.discard(live);
        throw error;
      }
    };
    try {
      // Every statement sluice sends is idempotent (IF NOT EXISTS, or read before written), so one
      // that may or may not have run before the connection dropped can run again, at once, on a new one.
      return await withRetry(attempt, { maxAttempts: 2, initialDelayMs: 0, maxDelayMs: 0, retryOn: (error) => error instanceof ConnectionLost });
    } catch (error) {
      if (!(error instanceof ConnectionLost)) throw error;
      throw new SluiceError(
        'SLUICE_CATALOG',
        `lost the connection to ${this.description} twice while running: ${clip(statement)}: ${error.message}`,
        { retriable: true, cause: error, context: { server: this.server, statement: clip(statement) } },
      );
    }
  }

  private async runOn(live: Live, statement: string, fetch: boolean): Promise<HiveRow[]> {
    const timeoutMs = this.options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
    const deadline = startDeadline(timeoutMs);
    const call = <T>(promise: Promise<T>): Promise<T> => Promise.race([promise, live.lost, deadline.expired]);
    let operation: Awaited<ReturnType<HiveSessionInstance['executeStatement']>> | undefined;
    try {
      try {
        operation = await call(live.session.executeStatement(statement, { runAsync: true }));
      } catch (error) {
        throw this.classify(error, statement);
      }
      try {
        // GetOperationStatus long-polls on the server (hive.server2.long.polling.timeout), so this
        // loop does not spin.
        for (;;) {
          const status = await call(operation.status(false));
          const state = status.operationState;
          if (state === types.TOperationState.FINISHED_STATE) break;
          if (state === types.TOperationState.INITIALIZED_STATE || state === types.TOperationState.PENDING_STATE || state === types.TOperationState.RUNNING_STATE) {
            continue;
          }
          throw this.statementError(statement, status.errorMessage ?? `the operation ended in state ${String(state)}`, status.errorCode, status.sqlState);
        }
        let rows: HiveRow[] = [];
        if (fetch) {
          operation.setMaxRows(FETCH_SIZE);
          do {
            await call(operation.fetch());
          } while (operation.hasMoreRows());
          const value: unknown = new hive.HiveUtils(types).getResult(operation).getValue();
          rows = Array.isArray(value) ? (value as HiveRow[]) : [];
        }
        return rows;
      } catch (error) {
        throw this.classify(error, statement);
      } finally {
        // Frees the server's resources for the operation; a broken connection frees them anyway.
        await call(operation.close()).catch(() => undefined);
      }
    } catch (error) {
      if (error instanceof DeadlineExpired) {
        // The connection is in an unknown state (an answer may still arrive); drop it. Over binary
        // Thrift that makes the server close the session and cancel what runs in it; over http each
        // request stands alone, so the cancel sent first is what stops it there.
        if (operation) void withDeadline(operation.cancel(), 2_000, () => new Error('cancel timed out')).catch(() => undefined);
        this.discard(live);
        throw new SluiceError(
          'SLUICE_CATALOG',
          `no answer from ${this.description} within ${timeoutMs} ms to: ${clip(statement)}`,
          { retriable: true, context: { server: this.server, statement: clip(statement) } },
        );
      }
      throw error;
    } finally {
      deadline.clear();
    }
  }

  /** Turns what hive-driver threw into ConnectionLost (retried once) or a SluiceError. */
  private classify(error: unknown, statement: string): Error {
    if (error instanceof ConnectionLost || error instanceof DeadlineExpired || error instanceof SluiceError) return error;
    const message = messageOf(error);
    // The server no longer knows the session (restarted, or an idle session expired): a new one is needed.
    if (/Invalid SessionHandle|Invalid OperationHandle|connection is lost/i.test(message)) return new ConnectionLost(message);
    const status = error as { code?: unknown; response?: { errorCode?: number; sqlState?: string; errorMessage?: string } };
    const code = typeof status.code === 'number' ? status.code : status.response?.errorCode;
    return this.statementError(statement, status.response?.errorMessage ?? message, code, status.response?.sqlState, error);
  }

  private statementError(statement: string, hiveMessage: string, code?: number, sqlState?: string, cause?: unknown): SluiceError {
    return new SluiceError('SLUICE_CATALOG', `${this.description} failed: ${clip(statement)}: ${hiveMessage}`, {
      // Asked as the TStatus HiveServer2 sent, whose code and message tell a passing state from a refusal.
      retriable: isTransient({ errorCode: code, errorMessage: hiveMessage, sqlState }),
      cause,
      context: { server: this.server, statement: clip(statement), hiveErrorCode: code, sqlState },
    });
  }

  private discard(live: Live): void {
    if (this.live === live) this.live = undefined;
    live.destroy();
  }

  private async session(): Promise<Live> {
    // A connection that dropped while idle (server restart, idle timeout) is replaced before use.
    if (this.live?.dead()) this.discard(this.live);
    this.live ??= await this.connect();
    return this.live;
  }

  private async connect(): Promise<Live> {
    const { host, port, transport = 'binary', authentication, user = 'sluice', password, tls } = this.options;
    const timeoutMs = this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    await loadHiveDriver();
    const client = new hive.HiveClient(hive.thrift.TCLIService, types);
    let dead = false;
    let reject: (error: ConnectionLost) => void = () => undefined;
    const lost = new Promise<never>((_, rejectLost) => {
      reject = rejectLost;
    });
    const markLost = (error: ConnectionLost) => {
      dead = true;
      reject(error);
    };
    lost.catch(() => undefined);
    // Without a listener, an 'error' event would throw from inside the socket's callback.
    client.on('error', (error: unknown) => markLost(new ConnectionLost(messageOf(error))));
    client.on('close', () => markLost(new ConnectionLost('the server closed the connection')));
    let opened: Transport | undefined;
    const destroy = () => {
      const socket = opened?.getTransport() as { destroy?: () => void } | undefined;
      if (typeof socket?.destroy === 'function') socket.destroy();
      else client.close();
    };
    const inner = authenticator(authentication, transport, user, password);
    // Keeps hold of the transport, to destroy a socket that hangs inside authentication.
    const auth = {
      authenticate: (candidate: Transport) => {
        opened = candidate;
        return inner.authenticate(candidate);
      },
    };
    const deadline = startDeadline(timeoutMs);
    const call = <T>(promise: Promise<T>): Promise<T> => Promise.race([promise, lost, deadline.expired]);
    try {
      const connection = transport === 'http' ? new hive.connections.HttpConnection() : new hive.connections.TcpConnection();
      await call(client.connect({ host, port, options: connectionOptions(this.options) }, connection, auth));
      const database = this.options.database;
      const session = await call(
        client.openSession({
          client_protocol: types.TProtocolVersion.HIVE_CLI_SERVICE_PROTOCOL_V10,
          username: user,
          ...(password === undefined ? {} : { password }),
          ...(database && database !== 'default' ? { configuration: { 'use:database': database } } : {}),
        }),
      );
      return { session, lost, dead: () => dead, destroy };
    } catch (error) {
      destroy();
      const raw = messageOf(error).replace(/\s+/g, ' ').trim();
      const reason =
        error instanceof DeadlineExpired
          ? `no answer within ${timeoutMs} ms. If the server is up, check that the authentication (${authentication}) matches ` +
            `hive.server2.authentication and the transport (${transport}${tls ? ' with TLS' : ''}) hive.server2.transport.mode` +
            ' and hive.server2.use.SSL: with a mismatch the server waits for a handshake that never comes'
          : raw + mismatchHint(raw, this.options);
      // A server that is down, starting or unreachable may come back; a refused login, a wrong path
      // or a certificate that does not verify will not.
      throw new SluiceError('SLUICE_CATALOG', `cannot open a session on ${this.description}: ${reason}`, {
        // `raw` too: hive-driver and thrift reject with strings and codeless objects as well as Errors.
        retriable: error instanceof DeadlineExpired || isTransient(error) || isTransient({ message: raw }),
        cause: error,
        context: { server: this.server },
      });
    } finally {
      deadline.clear();
    }
  }
}

/** What a connect failure most likely means, for the failures that do not say it themselves. */
function mismatchHint(raw: string, options: HiveConnectionOptions): string {
  if (/Bad Message 400|HTTP\/1\.[01]|\b1\.1 400\b/.test(raw)) {
    return ' (the server answers in HTTP: it runs hive.server2.transport.mode=http; set the transport to http)';
  }
  if ((options.transport ?? 'binary') === 'http' && /\b40[45]\b/.test(raw)) {
    return ` (check the http path '${options.httpPath ?? 'cliservice'}' against the server's hive.server2.thrift.http.path)`;
  }
  if (/closed the connection|ECONNRESET|socket hang up|disconnected before secure TLS/.test(raw)) {
    return (
      ' (the server hung up: check that the authentication, transport and TLS settings match its hive.server2.authentication,' +
      ' hive.server2.transport.mode and hive.server2.use.SSL)'
    );
  }
  return '';
}

function authenticator(authentication: HiveAuthentication, transport: HiveTransport, user: string, password: string | undefined) {
  const credentials = { username: user, password: password ?? 'anonymous' };
  if (transport === 'http') return new hive.auth.PlainHttpAuthentication(credentials);
  if (authentication === 'NOSASL') return new hive.auth.NoSaslAuthentication();
  return new hive.auth.PlainTcpAuthentication(credentials);
}

function connectionOptions(options: HiveConnectionOptions): Record<string, unknown> {
  const { transport = 'binary', tls } = options;
  const tlsOptions = tls
    ? {
        ...(tls.ca === undefined ? {} : { ca: tls.ca }),
        ...(tls.cert === undefined ? {} : { cert: tls.cert }),
        ...(tls.key === undefined ? {} : { key: tls.key }),
        ...(tls.servername === undefined ? {} : { servername: tls.servername }),
        // hive-driver turns certificate checks off unless told otherwise.
        rejectUnauthorized: tls.rejectUnauthorized ?? true,
      }
    : {};
  if (transport === 'http') {
    const path = '/' + (options.httpPath ?? 'cliservice').replace(/^\/+/, '');
    return tls ? { path, https: true, nodeOptions: tlsOptions } : { path };
  }
  return tls ? { ssl: true, ...tlsOptions } : {};
}

class DeadlineExpired extends Error {}

function startDeadline(ms: number): { expired: Promise<never>; clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExpired(`no answer within ${ms} ms`)), ms);
  });
  expired.catch(() => undefined);
  return { expired, clear: () => clearTimeout(timer) };
}

async function withDeadline<T>(promise: Promise<T>, ms: number, onExpire: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onExpire()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function messageOf(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error && typeof error.message === 'string' && error.message !== '') return error.message;
  if (error && typeof error === 'object' && 'code' in error) return String(error.code);
  return String(error);
}

function clip(statement: string): string {
  return statement.length <= MAX_STATEMENT_IN_MESSAGE ? statement : `${statement.slice(0, MAX_STATEMENT_IN_MESSAGE)}...`;
}
