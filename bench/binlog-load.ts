// The binlog benchmarks' workload on a fresh private source server: BENCH_SMALL_ROWS row changes in
// transactions of 1000, then one transaction of BENCH_LARGE_ROWS inserts, with the GTID positions
// around each part and the binlog files they filled, for every reader to be measured against.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { MariaDbServer } from '../test/servers/mariadb.ts';
import { fmt, log } from './bench-process.ts';
import { LARGE_ROWS, SMALL_ROWS } from './binlog-settings.ts';
import type { BenchSource } from './source-servers.ts';
import { BENCH_DATABASE, BENCH_TABLE_DDL, totalOf, WorkloadWriter, type IdChecksum, type OpCounts } from './workload.ts';

export function binlogFiles(server: MariaDbServer): { name: string; path: string; bytes: number }[] {
  return readdirSync(server.binlogDir)
    .filter((name) => /^mysql-bin\.\d+$/.test(name))
    .sort()
    .map((name) => ({ name, path: join(server.binlogDir, name), bytes: statSync(join(server.binlogDir, name)).size }));
}

export interface LoadFigures {
  /** SELECT VERSION() of the source server. */
  serverVersion: string;
  smallTransactions: number;
  smallRows: number;
  smallSeconds: number;
  largeRows: number;
  largeSeconds: number;
  counts: OpCounts;
  total: number;
  /** The ids of the small transactions' changes (workload.ts). */
  smallIds: IdChecksum;
  /** The ids of all changes. */
  ids: IdChecksum;
  largeFirstId: number;
  gtid: { start: string; beforeLarge: string; end: string };
  binlog: { files: string[]; bytes: number };
}

export async function load(source: BenchSource): Promise<LoadFigures> {
  const { server } = source;
  const connection = await server.rootConnection();
  try {
    const [versionRows] = await connection.query('SELECT VERSION() AS version');
    const serverVersion = (versionRows as { version: string }[])[0]!.version;
    await connection.query(`CREATE DATABASE ${BENCH_DATABASE}`);
    await connection.query(BENCH_TABLE_DDL);
    const start = await source.position();
    const writer = new WorkloadWriter(connection);

    log(`loading ${fmt(SMALL_ROWS)} row changes in ${fmt(SMALL_ROWS / 1000)} transactions of 1000 ...`);
    let started = performance.now();
    for (let index = 0; index < SMALL_ROWS / 1000; index++) await writer.smallTransaction();
    const smallSeconds = (performance.now() - started) / 1000;
    const smallCounts = { ...writer.counts };
    const smallIds = structuredClone(writer.ids);
    log(`  ${fmt(totalOf(smallCounts))} changes (${fmt(smallCounts.insert)} inserts, ${fmt(smallCounts.update)} updates, ${fmt(smallCounts.delete)} deletes) in ${smallSeconds.toFixed(1)} s`);
    const beforeLarge = await source.position();

    log(`loading one transaction of ${fmt(LARGE_ROWS)} inserts (multi-row INSERTs of 5000 rows inside one BEGIN..COMMIT) ...`);
    started = performance.now();
    const largeFirstId = await writer.largeTransaction(LARGE_ROWS);
    const largeSeconds = (performance.now() - started) / 1000;
    log(`  ${fmt(LARGE_ROWS)} inserts committed in ${largeSeconds.toFixed(1)} s`);
    const end = await source.position();
    const files = binlogFiles(server);
    const bytes = files.reduce((sum, file) => sum + file.bytes, 0);
    log(`load took ${(smallSeconds + largeSeconds).toFixed(1)} s; GTID ${start} -> ${beforeLarge} -> ${end}; binlog ${files.map((file) => file.name).join(', ')} (${fmt(bytes / 1048576, 1)} MiB)`);
    return {
      serverVersion,
      smallTransactions: SMALL_ROWS / 1000,
      smallRows: totalOf(smallCounts),
      smallSeconds,
      largeRows: LARGE_ROWS,
      largeSeconds,
      counts: { ...writer.counts },
      total: totalOf(writer.counts),
      smallIds,
      ids: structuredClone(writer.ids),
      largeFirstId,
      gtid: { start, beforeLarge, end },
      binlog: { files: files.map((file) => file.name), bytes },
    };
  } finally {
    await connection.end();
  }
}
