// The crash test on the embedded default (local disk and the local catalog) with MariaDB as the
// source. The scenario itself (workload with schema changes, SIGKILLs, SIGTERM in a large
// transaction, row-by-row comparison) is in helpers/crash-scenario.ts, shared with the HDFS +
// HiveServer2 run (crash-hive.test.ts) and the MySQL 9.7 run (crash-mysql.test.ts).
import { test } from 'node:test';
import { runCrashScenario } from './helpers/crash-scenario.ts';
import { localCrashStorage, type CrashFormat } from './helpers/local-crash-storage.ts';
import { testMariaDb } from './helpers/servers.ts';
import { mariadbSource } from './helpers/source-server.ts';

const KILLS = Number(process.env.SLUICE_CRASH_KILLS ?? 22);
const SEED = Number(process.env.SLUICE_CRASH_SEED ?? Date.now() % 1_000_000);
// About one step in twenty alters a table: a few dozen schema changes in a run, each a boundary a kill may land next to.
const SCHEMA_CHANGE_RATE = Number(process.env.SLUICE_CRASH_SCHEMA_CHANGE_RATE ?? 0.05);
// About one step in twelve prepares or ends an XA transaction: a dozen or more in a run, each prepared
// across a few ordinary transactions and often across a kill.
const XA_RATE = Number(process.env.SLUICE_CRASH_XA_RATE ?? 0.08);
// Text in `npm test`; `npm run soak:crash` adds Parquet.
const FORMATS = (process.env.SLUICE_CRASH_FORMATS ?? 'text').split(',') as CrashFormat[];

for (const [index, format] of FORMATS.entries()) {
  const seed = SEED + index; // a table set of its own for each format
  test(`Hive holds exactly the source's change stream after ${KILLS} SIGKILLs, MariaDB, ${format} (seed ${seed})`, { timeout: Math.max(15, 5 + KILLS / 3) * 60_000 }, () =>
    runCrashScenario({
      source: async () => mariadbSource(await testMariaDb()),
      kills: KILLS,
      largeTransactionRows: Number(process.env.SLUICE_CRASH_LARGE_ROWS ?? 100_000),
      seed,
      schemaChangeRate: SCHEMA_CHANGE_RATE,
      xaRate: XA_RATE,
      ...localCrashStorage(format),
    }),
  );
}
