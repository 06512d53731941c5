// One connection to a MySQL server named by a config section (`source` of the daemon or of a batch job,
// `writer` of a MySQL target), with errors that name that section's keys. The one way sluice connects to
// MySQL for queries; the binlog stream (zongji) takes the same options.
import mysql from 'mysql2/promise';
import { SluiceError } from './errors.ts';
import { probeGreeting, readGreeting } from './mysql-greeting.ts';
import { DEFAULT_TLS, mysql2Tls, NO_TLS_OFFERED, tlsFailure, type Mysql2Tls, type MysqlTls } from './mysql-tls.ts';

/** Where a MySQL/MariaDB server is and who sluice is there: the daemon's `source`, a batch job's `source` or `writer`. */
export interface MysqlServerOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  connectTimeoutMs: number;
  /** `source.tls`; MySQL's clients' default (preferred) when absent. */
  tls?: MysqlTls;
}

export async function connectMysql(options: MysqlServerOptions, configSection = 'source', extra: mysql.ConnectionOptions = {}): Promise<mysql.Connection> {
  const server = `${options.host}:${options.port}`;
  const tls = options.tls ?? DEFAULT_TLS;
  const attempt = (transport: Mysql2Tls) =>
    mysql.createConnection({
      host: options.host,
      port: options.port,
      user: options.user,
      password: options.password,
      connectTimeout: options.connectTimeoutMs,
      ...transport,
      ...extra,
    });
  const transport = mysql2Tls(tls, options, configSection);
  let inTheClear = transport.ssl === undefined;
  try {
    try {
      return await attempt(transport);
    } catch (error) {
      // 'preferred' and the greeting offered no TLS: the same login in the clear, as MySQL's clients do.
      if (inTheClear || tls.mode !== 'preferred' || (error as { code?: string }).code !== NO_TLS_OFFERED) throw error;
      inTheClear = true;
      return await attempt({});
    }
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR') {
      const rsa = inTheClear ? await withoutRsaKey(options, configSection) : '';
      throw new SluiceError(
        'SLUICE_MYSQL_ACCESS_DENIED',
        `MySQL at ${server} refused user '${options.user}': ${(error as Error).message}. Check ${configSection}.user and ${configSection}.password.${rsa}`,
        { cause: error, context: { server, configKey: `${configSection}.user` } },
      );
    }
    const refusedTls = tlsFailure(error, tls, server, configSection);
    if (refusedTls) throw refusedTls;
    const keys = `${configSection}.host, ${configSection}.port`;
    // A refused or unroutable connection says it all; a timeout or a garbled handshake may mean that
    // something else listens on the port (an HTTP server, a proxy): ask it.
    const verdict = NETWORK_FAILURES.has(code) ? undefined : await probeGreeting(options.host, options.port, Math.min(2000, options.connectTimeoutMs));
    if (verdict?.kind === 'other') {
      throw new SluiceError(
        'SLUICE_NOT_MYSQL',
        `${server} (${keys}) is not a MySQL server: it answered ${verdict.sample} where a MySQL or MariaDB server sends its greeting. ` +
          `Fix: point ${configSection}.host and ${configSection}.port at the MySQL/MariaDB server (its port is 3306 unless set otherwise).`,
        { cause: error, context: { server, configKey: `${configSection}.port` } },
      );
    }
    const silent =
      verdict?.kind === 'silent'
        ? `; something accepts connections there but sends no MySQL greeting: if it is not the MySQL/MariaDB server, fix ${keys}`
        : '';
    throw new SluiceError('SLUICE_MYSQL_UNREACHABLE', `cannot reach MySQL at ${server} (${keys}): ${code || (error as Error).message}${silent}`, {
      cause: error,
      retriable: true,
      context: { server, configKey: `${configSection}.host` },
    });
  }
}

/**
 * Over plain TCP, a caching_sha2_password login the server has not cached (the first since its
 * start or FLUSH PRIVILEGES) sends the password encrypted with the server's RSA key, which mysql2
 * asks for; a server without a key pair refuses that login as if the password were wrong. Said
 * when the server logs in with that plugin, since nothing else tells the two apart.
 */
async function withoutRsaKey(options: MysqlServerOptions, configSection: string): Promise<string> {
  const greeting = await readGreeting(options.host, options.port, Math.min(2000, options.connectTimeoutMs));
  if (greeting?.authPlugin !== 'caching_sha2_password') return '';
  return (
    ` If they are right: this login went over plain TCP, where caching_sha2_password needs the server's RSA key for a password it has not cached, ` +
    `and a server without one (SHOW STATUS LIKE 'Caching_sha2_password_rsa_public_key' shows none) refuses the login the same way. ` +
    `Fix: set ${configSection}.tls.mode: required (or verify-ca / verify-identity)${greeting.offersTls ? '' : ' once the server has TLS'}, ` +
    `or give the server its RSA keys (caching_sha2_password_auto_generate_rsa_keys=ON, the default, then restart it).`
  );
}

// Failures of the TCP connection itself, before any byte could be exchanged.
const NETWORK_FAILURES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);

/** For sessions that read or write rows: values stay exact text, never JS numbers or process-local times. */
export const EXACT_VALUES: mysql.ConnectionOptions = {
  supportBigNumbers: true,
  bigNumberStrings: true,
  dateStrings: true,
  timezone: 'Z',
  charset: 'UTF8MB4_GENERAL_CI',
};

/** Every session sluice opens reads and compares TIMESTAMP values as UTC instants. */
export async function useUtcSession(connection: mysql.Connection): Promise<void> {
  await connection.query("SET time_zone = '+00:00'");
}

export function quoteIdentifier(name: string): string {
  return '`' + name.replaceAll('`', '``') + '`';
}

export function quoteTable(qualified: string): string {
  const dot = qualified.indexOf('.');
  return `${quoteIdentifier(qualified.slice(0, dot))}.${quoteIdentifier(qualified.slice(dot + 1))}`;
}
