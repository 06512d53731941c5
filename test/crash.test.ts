// The crash test on the embedded default: local disk and the local catalog. The scenario itself
// (workload with schema changes, SIGKILLs, SIGTERM in a large transaction, row-by-row comparison) is
// in helpers/crash-scenario.ts, shared with the HDFS + HiveServer2 run.
import { test } from 'node:test';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { runCrashScenario } from './helpers/crash-scenario.ts';
import { readCommittedRows } from './helpers/warehouse.ts';

const KILLS = Number(process.env.SLUICE_CRASH_KILLS ?? 22);
const SEED = Number(process.env.SLUICE_CRASH_SEED ?? Date.now() % 1_000_000);
// About one step in twenty alters a table: a few dozen schema changes in a run, each a boundary a kill may land next to.
const SCHEMA_CHANGE_RATE = Number(process.env.SLUICE_CRASH_SCHEMA_CHANGE_RATE ?? 0.05);
// About one step in twelve prepares or ends an XA transaction: a dozen or more in a run, each prepared
// across a few ordinary transactions and often across a kill.
const XA_RATE = Number(process.env.SLUICE_CRASH_XA_RATE ?? 0.08);

test(`Hive holds exactly the source's change stream after ${KILLS} SIGKILLs (seed ${SEED})`, { timeout: 15 * 60_000 }, () =>
  runCrashScenario({
    kills: KILLS,
    largeTransactionRows: Number(process.env.SLUICE_CRASH_LARGE_ROWS ?? 100_000),
    seed: SEED,
    schemaChangeRate: SCHEMA_CHANGE_RATE,
    xaRate: XA_RATE,
    readRows: (workspace, database, table) =>
      readCommittedRows(new LocalCatalog(workspace.catalogDir), new LocalFileSystem(workspace.warehouse), database, table),
    fixHiveColumn: (workspace, database, table, column, type) => new LocalCatalog(workspace.catalogDir).changeColumnType(database, table, column, type),
  }),
);
