// Two "hosts" running the same daemon config with ha.zookeeper (docs/ha.md): each gets a fresh local
// workspace, and they share what a cluster shares: the HDFS warehouse and state directory, the
// ZooKeeper path, and the catalog directory (standing in for the metastore). A random workload runs
// against the source while the test kills, pauses or cuts off the active daemon; `rows()` reads what
// the tables hold, to compare with the generator's log.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { pino } from 'pino';
import { LocalCatalog } from '../../src/catalog/local-catalog.ts';
import { WebHdfsFileSystem } from '../../src/filesystem/webhdfs-filesystem.ts';
import { HdfsStateStore } from '../../src/runtime/hdfs-state-store.ts';
import { ChangeGenerator } from './change-generator.ts';
import { gtidBinlogPos, makeWorkspace, metricsPort, startDaemon, until, waitForCheckpoint, type DaemonWorkspace, type RunningDaemon } from './daemon.ts';
import { testMariaDb, type HdfsEndpoints } from './servers.ts';
import { bySequence, readCommittedRows, type TableRow } from './warehouse.ts';
import type { MariaDbServer } from '../servers/mariadb.ts';

export interface HaPair {
  server: MariaDbServer;
  fs: WebHdfsFileSystem;
  generator: ChangeGenerator;
  /** A new host's workspace on the shared config. */
  host(): DaemonWorkspace;
  /**
   * Starts A, waits until it is active and has written a record of the running workload, then B,
   * until it stands by.
   */
  startActiveAndStandby(): Promise<{ first: DaemonWorkspace; a: RunningDaemon; second: DaemonWorkspace; b: RunningDaemon }>;
  /** Stops the workload and waits for its last transaction. */
  stopWriting(): Promise<void>;
  /** The target table's committed rows, by sequence. */
  rows(): Promise<TableRow[]>;
  close(): Promise<void>;
}

/** `hdfs`: the test file passes testHdfs()'s, so that the runner sees the file needs HDFS. */
export async function haPair(options: { hdfs: HdfsEndpoints; zookeeper: string; sessionTimeoutMs: number; intervalSeconds?: number }): Promise<HaPair> {
  const { hdfs } = options;
  const namenode = new URL(hdfs.webhdfsUrl).origin;
  const server = await testMariaDb();
  const db: Connection = await server.rootConnection();
  const tag = `ha${randomUUID().slice(0, 6)}`;
  const root = `/sluice-ha/${tag}`;
  const tables = [`${tag}_shop.orders_1`, `${tag}_shop.orders_2`];
  await ChangeGenerator.createTables(db, tables);
  const start = await gtidBinlogPos(server);
  const sharedCatalog = mkdtempSync(join(tmpdir(), 'sluice-ha-catalog-'));
  const fs = new WebHdfsFileSystem({ namenodes: [namenode], logger: pino({ level: 'silent' }), requestTimeoutMs: 20_000 });
  const state = new HdfsStateStore({ fs, dir: `${root}/state` });
  const generator = new ChangeGenerator(db, tables, 19);
  let writing = true;
  const writer = (async () => {
    while (writing) {
      await generator.randomTransaction();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  const workspaces: DaemonWorkspace[] = [];
  const host = (): DaemonWorkspace => {
    const workspace = makeWorkspace(server, {
      start: `{ gtid: '${start}' }`,
      routing: `  include: ['${tag}_shop.*']\n  rules:\n    - match: '^${tag}_shop\\.orders_\\d+$'\n      target: ods_${tag}.orders`,
      intervalSeconds: options.intervalSeconds ?? 0.5,
      storage: `  filesystem:\n    kind: webhdfs\n    namenodes: ['${namenode}']\n    warehouse: ${root}/warehouse\n    spoolDir: ./spool\n  catalog:\n    dir: ${sharedCatalog}`,
      state: { yaml: `  store: hdfs\n  hdfs:\n    dir: ${root}/state`, store: state },
      extra: `ha:\n  zookeeper:\n    connect: '${options.zookeeper}'\n    path: /sluice-test/${tag}\n    sessionTimeoutMs: ${options.sessionTimeoutMs}\n`,
    });
    workspaces.push(workspace);
    return workspace;
  };
  return {
    server,
    fs,
    generator,
    host,
    async startActiveAndStandby() {
      const first = host();
      const a = startDaemon(first, server);
      await until('A is active', a, () => isActive(a));
      await metricsPort(a);
      const second = host();
      const b = startDaemon(second, server);
      await until('B stands by', b, () => /"msg":"standing by: another daemon is active/.test(b.output()));
      await waitForCheckpoint(first, await gtidBinlogPos(server), 60_000, a);
      return { first, a, second, b };
    },
    stopWriting: async () => {
      writing = false;
      await writer;
    },
    rows: async () => bySequence(await readCommittedRows(new LocalCatalog(sharedCatalog), fs, `ods_${tag}`, 'orders')),
    close: async () => {
      writing = false;
      await writer.catch(() => undefined);
      await db.end();
      await fs.delete(root, true).catch(() => undefined);
      fs.close();
      rmSync(sharedCatalog, { recursive: true, force: true });
      for (const workspace of workspaces) rmSync(workspace.dir, { recursive: true, force: true });
    },
  };
}

/** Whether the daemon has logged that ZooKeeper elected it. */
export function isActive(daemon: RunningDaemon): boolean {
  return /"msg":"active: elected in ZooKeeper/.test(daemon.output());
}
