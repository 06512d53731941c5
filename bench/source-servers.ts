// The two source servers the binlog benchmark reads, and what differs between them: where the
// private server lives, its native decoder (the reference), and how its GTID positions are read and
// compared. Everything else (the workload, sluice's decoding, the daemon, the read-back) is the same
// code for both, so their figures sit side by side.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { gtidBinlogPos, gtidSeq } from '../test/helpers/daemon.ts';
import { gtidExecuted } from '../test/helpers/mysql-gtid.ts';
import { startMariaDb, stopMariaDb, type MariaDbServer } from '../test/servers/mariadb.ts';
import { startMySql } from '../test/servers/mysql.ts';

export type SourceKind = 'mariadb' | 'mysql';
export const SOURCE_KINDS: readonly SourceKind[] = ['mariadb', 'mysql'];

/** A private source server of the benchmark, not yet started. */
export interface SourceFlavor {
  kind: SourceKind;
  /** 'MariaDB', 'MySQL 9.7': for logs and tables. */
  label: string;
  /** The native decoder's name: the reference (a) is `<tool> --base64-output=decode-rows -v`. */
  toolName: string;
  /** The server's process name, for the CPU figures ('mariadbd', 'mysqld'). */
  processName: 'mariadbd' | 'mysqld';
  dir: string;
  pidFile: string;
  start(log: (line: string) => void): Promise<BenchSource>;
}

/** A running source server with what the benchmark needs of it. */
export interface BenchSource {
  flavor: SourceFlavor;
  server: MariaDbServer;
  /** argv of the native decoder: ['mariadb-binlog'], or MySQL's mysqlbinlog through sid's loader. */
  tool: string[];
  /** The server's GTID position now, in its own form ('0-1-42'; 'uuid:1-42'). */
  position(): Promise<string>;
  /** Whether `position` (a checkpoint's, or where a reader stopped) holds everything up to `end`. */
  covers(position: string | undefined, end: string): boolean;
}

export function sourceFlavor(kind: SourceKind, sluiceDir: string): SourceFlavor {
  const dir = join(sluiceDir, `bench-${kind}`);
  if (kind === 'mariadb') {
    const flavor: SourceFlavor = {
      kind,
      label: 'MariaDB',
      toolName: 'mariadb-binlog',
      processName: 'mariadbd',
      dir,
      pidFile: join(dir, 'mariadb.pid'),
      start: async () => {
        const server = await startMariaDb({ dir });
        return { flavor, server, tool: ['mariadb-binlog'], position: () => gtidBinlogPos(server), covers: (position, end) => gtidSeq(position) >= gtidSeq(end) };
      },
    };
    return flavor;
  }
  const flavor: SourceFlavor = {
    kind,
    label: 'MySQL 9.7',
    toolName: 'mysqlbinlog',
    processName: 'mysqld',
    dir,
    pidFile: join(dir, 'mysql.pid'),
    start: async (log) => {
      // Fetches Oracle MySQL 9.7 from Debian sid into .sluice/mysql-9.7 on first use (test/servers/mysql-fetch.ts).
      const server = await startMySql({ dir, log });
      return { flavor, server, tool: server.tool('mysqlbinlog'), position: () => gtidExecuted(server), covers: mysqlGtidCovers };
    },
  };
  return flavor;
}

export async function stopLeftover(flavor: SourceFlavor): Promise<void> {
  await stopMariaDb(flavor.pidFile);
}

/** A fresh private server of this kind: one a crashed run left behind is stopped and its folder wiped first. */
export async function startFresh(flavor: SourceFlavor, log: (line: string) => void): Promise<BenchSource> {
  await stopLeftover(flavor);
  rmSync(flavor.dir, { recursive: true, force: true });
  const source = await flavor.start(log);
  log(`private ${flavor.label} on 127.0.0.1:${source.server.port} in ${flavor.dir}`);
  return source;
}

/** 'uuid:1-5:7-9,uuid2:1-3' -> the highest transaction number per server UUID (a tag, as in 'uuid:tag:1-3', counts as the UUID's). */
function highestPerUuid(set: string): Map<string, number> {
  const highest = new Map<string, number>();
  for (const entry of set.replace(/\s/g, '').split(',').filter((part) => part !== '')) {
    const [uuid, ...intervals] = entry.split(':');
    const top = Math.max(0, ...intervals.filter((interval) => /^\d/.test(interval)).map((interval) => Number(interval.split('-').at(-1))));
    highest.set(uuid!.toLowerCase(), Math.max(highest.get(uuid!.toLowerCase()) ?? 0, top));
  }
  return highest;
}

/**
 * MySQL GTID sets, compared by the highest number per UUID: enough for the benchmark's fresh server,
 * whose sets have no gaps (each is uuid:1-N), without a query to the server every 25 ms.
 */
export function mysqlGtidCovers(position: string | undefined, end: string): boolean {
  if (position === undefined) return false;
  const have = highestPerUuid(position);
  return [...highestPerUuid(end)].every(([uuid, top]) => (have.get(uuid) ?? 0) >= top);
}

/** BENCH_SERVERS: 'mariadb,mysql' (the default), or one of them. */
export function sourceKindsSetting(text: string | undefined): SourceKind[] {
  if (text === undefined || text.trim() === '') return [...SOURCE_KINDS];
  const kinds = text.split(',').map((part) => part.trim().toLowerCase()).filter((part) => part !== '');
  const unknown = kinds.filter((kind) => !(SOURCE_KINDS as readonly string[]).includes(kind));
  if (unknown.length > 0 || kinds.length === 0) throw new Error(`BENCH_SERVERS must name ${SOURCE_KINDS.join(' and/or ')}, comma-separated, not ${text}`);
  return SOURCE_KINDS.filter((kind) => kinds.includes(kind));
}
