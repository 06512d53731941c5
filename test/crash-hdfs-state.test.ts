// The crash test with everything that must outlive the host on HDFS: the data files (WebHDFS) and the
// daemon's state (checkpoint.store: hdfs: checkpoint records, schema history, compaction intents and
// the lock). The catalog is the local one, standing in for the metastore. Same scenario as
// crash.test.ts (schema changes, XA, statement-format sessions, a table stopped and fixed, SIGKILLs at
// random moments and right after a record lands, SIGTERM in a large transaction): the table must end
// holding exactly the source's change stream.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { WebHdfsFileSystem } from '../src/filesystem/webhdfs-filesystem.ts';
import { HdfsStateStore } from '../src/runtime/hdfs-state-store.ts';
import { runCrashScenario } from './helpers/crash-scenario.ts';
import type { DaemonWorkspace } from './helpers/daemon.ts';
import { testHdfs, testMariaDb } from './helpers/servers.ts';
import { mariadbSource } from './helpers/source-server.ts';
import { readCommittedRows } from './helpers/warehouse.ts';

const KILLS = Number(process.env.SLUICE_CRASH_HDFS_STATE_KILLS ?? 10);
const SEED = Number(process.env.SLUICE_CRASH_SEED ?? Date.now() % 1_000_000);

test(`state on HDFS: the table holds exactly the source's change stream after ${KILLS} SIGKILLs (seed ${SEED})`, { timeout: 20 * 60_000 }, async () => {
  const hdfs = await testHdfs();
  const namenode = new URL(hdfs.webhdfsUrl).origin;
  const fs = new WebHdfsFileSystem({ namenodes: [namenode], logger: pino({ level: 'silent' }), requestTimeoutMs: 20_000 });
  const run = randomUUID().slice(0, 8);
  const catalog = (workspace: DaemonWorkspace) => new LocalCatalog(workspace.catalogDir);
  try {
    await runCrashScenario({
      source: async () => mariadbSource(await testMariaDb()),
      kills: KILLS,
      largeTransactionRows: Number(process.env.SLUICE_CRASH_LARGE_ROWS ?? 30_000),
      seed: SEED,
      // Schema changes fill the schema history, which now lives on HDFS too. Fewer than the local
      // scenario's 0.05: a checkpoint after a schema change writes the whole history through WebHDFS,
      // which the stream waits for, and at 0.05 (some 600 changes in a run) the daemon fell a binlog
      // file behind the writer on a loaded machine (seen in CI). Each kind still runs dozens of times.
      schemaChangeRate: 0.02,
      // A record per second rather than the local 0.3 s: each one is a few WebHDFS round trips.
      intervalSeconds: 1,
      pauseBetweenTransactionsMs: 15,
      xaRate: 0.08,
      storage: async (tag) =>
        ['  filesystem:', '    kind: webhdfs', `    namenodes: ['${namenode}']`, `    warehouse: /sluice-crash-state/${run}/${tag}/warehouse`, '    spoolDir: ./spool', '  catalog:', '    dir: ./catalog'].join('\n'),
      state: (tag) => {
        const dir = `/sluice-crash-state/${run}/${tag}/state`;
        // The warehouse's NameNodes, user and spool (checkpoint.hdfs takes them from sink.filesystem).
        return { yaml: `  store: hdfs\n  hdfs:\n    dir: ${dir}`, store: new HdfsStateStore({ fs, dir }) };
      },
      localStagingDir: (workspace) => join(workspace.dir, 'spool'),
      readRows: (workspace, database, table) => readCommittedRows(catalog(workspace), fs, database, table),
      fixHiveColumn: (workspace, database, table, column, type) => catalog(workspace).changeColumnType(database, table, column, type),
    });
  } finally {
    await fs.delete(`/sluice-crash-state/${run}`, true).catch(() => undefined);
    fs.close();
  }
});
