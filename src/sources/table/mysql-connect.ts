// One connection to a MySQL server named by a config section (`source` of a batch job, `writer` of a
// MySQL target), with errors that name that section's keys.
import mysql from 'mysql2/promise';
import { SluiceError } from '../../errors.ts';

export interface MysqlServerOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  connectTimeoutMs: number;
}

export async function connectMysql(options: MysqlServerOptions, configSection: string, extra: mysql.ConnectionOptions = {}): Promise<mysql.Connection> {
  const server = `${options.host}:${options.port}`;
  try {
    return await mysql.createConnection({
      host: options.host,
      port: options.port,
      user: options.user,
      password: options.password,
      connectTimeout: options.connectTimeoutMs,
      ...extra,
    });
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR') {
      throw new SluiceError(
        'SLUICE_MYSQL_ACCESS_DENIED',
        `MySQL at ${server} refused user '${options.user}': ${(error as Error).message}. Check ${configSection}.user and ${configSection}.password.`,
        { cause: error, context: { server, configKey: `${configSection}.user` } },
      );
    }
    throw new SluiceError('SLUICE_MYSQL_UNREACHABLE', `cannot reach MySQL at ${server} (${configSection}.host, ${configSection}.port): ${code || (error as Error).message}`, {
      cause: error,
      retriable: true,
      context: { server, configKey: `${configSection}.host` },
    });
  }
}

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
