// TLS to a MySQL/MariaDB server, in the terms of MySQL's own clients (--ssl-mode, --ssl-ca,
// --ssl-cert, --ssl-key), turned into mysql2's `ssl` option. mysql2 is the client of every connection
// sluice opens, the replication stream included (zongji runs on it), so this is the one translation.
import { readFileSync } from 'node:fs';
import { connect, isIP, type Socket } from 'node:net';
import { SluiceError } from './errors.ts';

export const TLS_MODES = ['disabled', 'preferred', 'required', 'verify-ca', 'verify-identity'] as const;
export type MysqlTlsMode = (typeof TLS_MODES)[number];

/** `source.tls` after loading: ca/cert/key are absolute paths of PEM files. */
export interface MysqlTls {
  mode: MysqlTlsMode;
  ca?: string;
  cert?: string;
  key?: string;
}

/** The default of MySQL's clients: TLS when the server offers it, without checking its certificate. */
export const DEFAULT_TLS: MysqlTls = { mode: 'preferred' };

/** mysql2's ssl option (a subset of tls.SecureContextOptions, plus its own two flags). */
export interface Mysql2Ssl {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
  verifyIdentity?: boolean;
}

/** The connection options mysql2 takes for TLS: `ssl`, and for verify-identity of an IP address, its own socket. */
export interface Mysql2Tls {
  ssl?: Mysql2Ssl;
  stream?: () => Socket;
}

/**
 * mysql2's options for `tls` (none for a plain connection). Under 'preferred', `offered` says
 * whether the server's greeting offers TLS (mysql2 itself only knows "TLS or fail").
 * The PEM files are read at each connection, so a renewed certificate is used without a restart.
 */
export function mysql2Tls(tls: MysqlTls, server: { host: string; port: number }, configSection: string, offered = true): Mysql2Tls {
  if (tls.mode === 'disabled' || (tls.mode === 'preferred' && !offered)) return {};
  const verifies = tls.mode === 'verify-ca' || tls.mode === 'verify-identity';
  const ssl: Mysql2Ssl = {
    ...pem(tls, 'ca', configSection),
    ...pem(tls, 'cert', configSection),
    ...pem(tls, 'key', configSection),
    rejectUnauthorized: verifies,
    verifyIdentity: tls.mode === 'verify-identity',
  };
  if (tls.mode !== 'verify-identity' || isIP(server.host) === 0) return { ssl };
  // mysql2 gives Node no name to check for an IP address (SNI carries none), and Node then checks
  // the certificate against 'localhost', refusing one made for the address and taking one made for
  // localhost. Node falls back to the socket's _host, which it sets only for a name it looks up:
  // set here, so the certificate is checked against source.host, as MySQL's clients do.
  return {
    ssl,
    stream: () => {
      const socket = connect({ host: server.host, port: server.port });
      socket.setNoDelay(true);
      (socket as Socket & { _host?: string })._host = server.host;
      return socket;
    },
  };
}

function pem(tls: MysqlTls, key: 'ca' | 'cert' | 'key', configSection: string): Partial<Record<typeof key, string>> {
  const path = tls[key];
  if (path === undefined) return {};
  try {
    return { [key]: readFileSync(path, 'utf8') };
  } catch (error) {
    throw new SluiceError('SLUICE_CONFIG_UNREADABLE', `cannot read ${configSection}.tls.${key} ${path}: ${(error as Error).message}`, {
      cause: error,
      context: { file: path, configKey: `${configSection}.tls.${key}` },
    });
  }
}

/** mysql2's codes for a server without TLS and for a failed TLS handshake (a certificate refused, say). */
export const NO_TLS_OFFERED = 'HANDSHAKE_NO_SSL_SUPPORT';
const TLS_FAILED = 'HANDSHAKE_SSL_ERROR';

/**
 * A coded error for a connection that failed over TLS, or undefined when `error` is not about TLS.
 * caching_sha2_password's "requires secure connection" is one too: the server wants TLS (or an RSA
 * key exchange) for a full authentication.
 */
export function tlsFailure(error: unknown, tls: MysqlTls, server: string, configSection: string): SluiceError | undefined {
  const code = (error as { code?: string }).code ?? '';
  const message = (error as Error).message ?? String(error);
  const key = `${configSection}.tls`;
  if (code === NO_TLS_OFFERED) {
    return new SluiceError(
      'SLUICE_MYSQL_TLS',
      `MySQL at ${server} offers no TLS, and ${key}.mode is ${tls.mode}. ` +
        `Fix: enable TLS on the server (MySQL 8+ does by default with the certificates it generates in its data directory; MariaDB needs ssl_cert and ssl_key), ` +
        `or set ${key}.mode: preferred to connect without it.`,
      { cause: error, context: { server, configKey: `${key}.mode` } },
    );
  }
  if (code === TLS_FAILED || /certificate|self[- ]signed|altnames|Hostname\/IP does not match/i.test(code + ' ' + message)) {
    const fix =
      tls.mode === 'verify-identity' && /altnames|does not match|hostname/i.test(message)
        ? `the server's certificate does not name ${server.replace(/:\d+$/, '')}: connect by a name the certificate holds (${configSection}.host), ` +
          `give the server a certificate for this name, or set ${key}.mode: verify-ca to check the CA only`
        : `give the CA that signed the server's certificate in ${key}.ca (MySQL's own is ca.pem in its data directory), ` +
          `or set ${key}.mode: required to encrypt without checking the certificate`;
    return new SluiceError('SLUICE_MYSQL_TLS', `TLS to MySQL at ${server} failed (${key}.mode ${tls.mode}): ${message}. Fix: ${fix}.`, {
      cause: error,
      context: { server, configKey: `${key}.mode` },
    });
  }
  // require_secure_transport=ON, or a user created with REQUIRE SSL.
  if (code === 'ER_SECURE_TRANSPORT_REQUIRED' || /requires? (a )?secure (connection|transport)|insecure transport/i.test(message)) {
    return new SluiceError(
      'SLUICE_MYSQL_TLS',
      `MySQL at ${server} accepts only TLS connections (${message}). Fix: set ${key}.mode: required (or verify-ca / verify-identity).`,
      { cause: error, context: { server, configKey: `${key}.mode` } },
    );
  }
  return undefined;
}
