// One server id per replica: a MySQL/MariaDB server drops the older of two replicas that dump with
// the same id, so two daemons on one `source.serverId` would knock each other off for ever, each
// restart replaying from its checkpoint. Checked before the dump where the server lets us see its
// replicas, and named when the server drops us mid-stream.
import type mysql from 'mysql2/promise';
import { SluiceError } from '../../../core/errors.ts';
import { connectMysql, type MysqlServerOptions } from '../../../core/mysql-connect.ts';

// MariaDB's ER_SLAVE_SAME_ID; MySQL sends 1236 (ER_MASTER_FATAL_ERROR_READING_BINLOG) with this text.
const MARIADB_SAME_ID = 4052;
const SAME_ID_TEXT = /same server_uuid\/server_id|same server_id/i;

interface ReplicaRow {
  serverId: number;
  host: string;
  port: number;
}

/**
 * Refuses a server id that the server itself has, or that a registered replica uses (SHOW SLAVE HOSTS,
 * or SHOW REPLICAS on MySQL 8.4, which removed the older name). Replicas that never register (zongji,
 * so other sluice daemons) are not listed: for those the server's own error is the signal. MariaDB 10.5+
 * lists replicas only to a user with REPLICATION MASTER ADMIN; without it the check is skipped.
 */
export async function requireServerIdFree(connection: mysql.Connection, server: string, serverId: number): Promise<'checked' | 'not allowed to list replicas'> {
  const [own] = (await connection.query('SELECT @@server_id AS id')) as unknown as [{ id: number | string }[]];
  if (Number(own[0]?.id) === serverId) {
    throw inUse(server, serverId, `it is the server id of ${server} itself (@@server_id)`);
  }
  const replicas = await listReplicas(connection);
  if (replicas === undefined) return 'not allowed to list replicas';
  const clash = replicas.find((replica) => replica.serverId === serverId);
  if (clash) {
    const where = clash.host ? ` on ${clash.host}${clash.port ? `:${clash.port}` : ''}` : '';
    throw inUse(server, serverId, `a replica${where} is connected to ${server} with it (SHOW SLAVE HOSTS)`);
  }
  return 'checked';
}

/** requireServerIdFree over a connection of its own: what the daemon runs before the dump, and `sluice check` too. */
export async function checkServerIdFree(options: MysqlServerOptions, serverId: number): Promise<'checked' | 'not allowed to list replicas'> {
  const control = await connectMysql(options);
  try {
    return await requireServerIdFree(control, `${options.host}:${options.port}`, serverId);
  } finally {
    await control.end().catch(() => undefined);
  }
}

/** The server's error when it dropped this replica for another with the same id, in sluice's words; else undefined. */
export function serverIdConflict(error: Error, server: string, serverId: number): SluiceError | undefined {
  const errno = (error as { errno?: number }).errno;
  if (errno !== MARIADB_SAME_ID && !SAME_ID_TEXT.test(error.message)) return undefined;
  return inUse(server, serverId, `another replica connected to ${server} with it, and the server dropped this daemon's binlog stream ("${error.message}")`, error);
}

function inUse(server: string, serverId: number, why: string, cause?: unknown): SluiceError {
  return new SluiceError(
    'SLUICE_SERVER_ID_IN_USE',
    `source.serverId ${serverId} is taken: ${why}. Two replicas with one server id knock each other off the server. ` +
      'Fix: give this daemon a server id no other replica of this server uses (source.serverId, 1 to 4294967295), ' +
      'or stop the other one. A restart cannot fix this, so sluice exits with 78.',
    { ...(cause === undefined ? {} : { cause }), context: { server, configKey: 'source.serverId', serverId } },
  );
}

async function listReplicas(connection: mysql.Connection): Promise<ReplicaRow[] | undefined> {
  for (const statement of ['SHOW SLAVE HOSTS', 'SHOW REPLICAS']) {
    try {
      const [rows] = await connection.query(statement);
      return (rows as Record<string, unknown>[]).map((row) => {
        const field = (name: string) => Object.entries(row).find(([key]) => key.toLowerCase() === name)?.[1];
        return { serverId: Number(field('server_id')), host: String(field('host') ?? ''), port: Number(field('port') ?? 0) };
      });
    } catch (error) {
      const code = (error as { code?: string }).code;
      // Access denied: the user may not list replicas. A parse error: the other spelling is this server's.
      if (code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR' || code === 'ER_ACCESS_DENIED_ERROR') return undefined;
      if (code !== 'ER_PARSE_ERROR') throw error;
    }
  }
  return undefined;
}
