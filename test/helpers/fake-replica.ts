// A replica that registers itself (COM_REGISTER_SLAVE) the way a real MySQL/MariaDB replica does, and
// stays listed in SHOW SLAVE HOSTS until closed. mysql2 has no call for it: a raw command sends it.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import mysql from 'mysql2';
import type { MariaDbServer } from '../servers/mariadb.ts';

const require = createRequire(import.meta.url);
// Not in mysql2's exports map: reached by file path beside its main module.
const mysql2Dir = dirname(require.resolve('mysql2'));
const Command = require(join(mysql2Dir, 'lib/commands/command.js')) as new () => object;
const Packet = require(join(mysql2Dir, 'lib/packets/packet.js')) as new (sequenceId: number, buffer: Buffer, start: number, end: number) => object;

const COM_REGISTER_SLAVE = 0x15;

export async function registerFakeReplica(server: MariaDbServer, serverId: number, reportHost: string, reportPort: number): Promise<{ close(): Promise<void> }> {
  const connection = mysql.createConnection({ socketPath: server.socket, user: 'root' });
  const host = Buffer.from(reportHost);
  const payload = Buffer.alloc(1 + 4 + 1 + host.length + 1 + 1 + 2 + 4 + 4);
  let at = payload.writeUInt8(COM_REGISTER_SLAVE, 0);
  at = payload.writeUInt32LE(serverId, at);
  at = payload.writeUInt8(host.length, at);
  at += host.copy(payload, at);
  at = payload.writeUInt8(0, at); // user
  at = payload.writeUInt8(0, at); // password
  at = payload.writeUInt16LE(reportPort, at);
  at = payload.writeUInt32LE(0, at); // replication rank
  payload.writeUInt32LE(0, at); // master id
  await new Promise<void>((resolve, reject) => {
    class Register extends Command {
      start(_packet: unknown, conn: { writePacket(packet: object): void }) {
        conn.writePacket(new Packet(0, Buffer.concat([Buffer.alloc(4), payload]), 0, 4 + payload.length));
        return Register.prototype.answered;
      }
      answered(packet: { isError(): boolean; asError(): Error }) {
        if (packet.isError()) reject(packet.asError());
        else resolve();
        return null;
      }
    }
    connection.once('error', reject);
    (connection as unknown as { addCommand(command: object): void }).addCommand(new Register());
  });
  return { close: () => new Promise<void>((resolve) => connection.end(() => resolve())) };
}
