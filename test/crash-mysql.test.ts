// The crash test with Oracle MySQL 9.7 as the source (test/servers/mysql.ts), on the embedded
// default: the scenario of helpers/crash-scenario.ts as on MariaDB (random
// and record-landing SIGKILLs, schema changes, TRUNCATE and DROP + CREATE, XA transactions, which
// MySQL logs as an XA PREPARE group and a later XA COMMIT of their own, statement-format sessions, a
// large transaction, SIGTERM inside one), with MySQL's GTID sets. Modest in `npm test`, and in text
// only there, as the MariaDB run is (Parquet under kills stays in `npm test` through crash-hive);
// `npm run soak:crash` runs it long, in text and in Parquet.
import { test } from 'node:test';
import { runCrashScenario } from './helpers/crash-scenario.ts';
import { localCrashStorage, type CrashFormat } from './helpers/local-crash-storage.ts';
import { testMysql } from './helpers/servers.ts';
import { mysqlSource } from './helpers/source-server.ts';

const KILLS = Number(process.env.SLUICE_CRASH_MYSQL_KILLS ?? 10);
const SEED = Number(process.env.SLUICE_CRASH_SEED ?? Date.now() % 1_000_000);
const FORMATS = (process.env.SLUICE_CRASH_MYSQL_FORMATS ?? 'text').split(',') as CrashFormat[];

for (const [index, format] of FORMATS.entries()) {
  // A table set of its own for each format, apart from the MariaDB run's with the same seed.
  const seed = SEED + 100 + index;
  test(`Hive holds exactly the source's change stream after ${KILLS} SIGKILLs, MySQL 9.7, ${format} (seed ${seed})`, { timeout: Math.max(15, 5 + KILLS / 3) * 60_000 }, () =>
    runCrashScenario({
      source: async () => mysqlSource(await testMysql()),
      kills: KILLS,
      largeTransactionRows: Number(process.env.SLUICE_CRASH_LARGE_ROWS ?? 30_000),
      seed,
      schemaChangeRate: Number(process.env.SLUICE_CRASH_SCHEMA_CHANGE_RATE ?? 0.05),
      xaRate: Number(process.env.SLUICE_CRASH_XA_RATE ?? 0.08),
      ...localCrashStorage(format),
    }),
  );
}
