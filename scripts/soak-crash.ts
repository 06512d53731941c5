// `npm run soak:crash`: the crash test's long variants, too long for `npm test`. The scenario of
// test/helpers/crash-scenario.ts (random and record-landing SIGKILLs, schema changes, TRUNCATE and
// DROP + CREATE, XA, statement-format sessions, a large transaction, SIGTERM inside one, then the
// Hive table compared with the source's change stream row by row) on MariaDB (test/crash.test.ts)
// and on MySQL 9.7 (test/crash-mysql.test.ts), each in text and in Parquet on the embedded default,
// with SOAK_KILLS kills and a SOAK_LARGE_ROWS-row transaction per run; and the snapshot phase
// (test/crash-snapshot.test.ts) on the same servers, with SOAK_KILLS / 2 kills over a snapshot of
// SOAK_SNAPSHOT_ROWS rows per table.
//
// It runs those test files through the project's runner (test/run-tests.ts) on servers of its own,
// wiped first: MariaDB in .sluice/soak-crash-mariadb, MySQL in .sluice/soak-crash-mysql (so a test
// run in the same checkout keeps its own). Environment:
//   SOAK_KILLS       kills per run (default 60)
//   SOAK_LARGE_ROWS  rows of the large transaction (default 100000)
//   SOAK_SERVERS     comma list of mariadb,mysql (default both)
//   SOAK_FORMATS     comma list of text,parquet (default both)
//   SOAK_SNAPSHOT_ROWS  rows per table before the snapshot phase's first start (default 40000)
//   SOAK_SEED        the runs' seed (default: the clock); a failing seed fails the same way again
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const KILLS = process.env.SOAK_KILLS ?? '60';
const FORMATS = process.env.SOAK_FORMATS ?? 'text,parquet';
const SERVERS = (process.env.SOAK_SERVERS ?? 'mariadb,mysql').split(',');
const SEED = process.env.SOAK_SEED ?? String(Date.now() % 1_000_000);
const FILES: Record<string, string> = { mariadb: 'test/crash.test.ts', mysql: 'test/crash-mysql.test.ts' };

const files = SERVERS.map((server) => {
  const file = FILES[server];
  if (!file) throw new Error(`SOAK_SERVERS: unknown server '${server}' (mariadb, mysql)`);
  return file;
});
files.push('test/crash-snapshot.test.ts');
process.stdout.write(`soak:crash: ${SERVERS.join(', ')} x ${FORMATS}, ${KILLS} kills each, seed ${SEED}\n`);
const child = spawn(process.execPath, ['--import', 'tsx', 'test/run-tests.ts', ...files], {
  cwd: REPO,
  stdio: 'inherit',
  env: {
    ...process.env,
    SLUICE_TEST_MARIADB_DIR: join(REPO, '.sluice', 'soak-crash-mariadb'),
    SLUICE_TEST_MYSQL_DIR: join(REPO, '.sluice', 'soak-crash-mysql'),
    SLUICE_CRASH_SEED: SEED,
    SLUICE_CRASH_KILLS: KILLS,
    SLUICE_CRASH_MYSQL_KILLS: KILLS,
    SLUICE_CRASH_LARGE_ROWS: process.env.SOAK_LARGE_ROWS ?? '100000',
    SLUICE_CRASH_FORMATS: FORMATS,
    SLUICE_CRASH_MYSQL_FORMATS: FORMATS,
    SLUICE_CRASH_SNAPSHOT_SERVERS: SERVERS.join(','),
    SLUICE_CRASH_SNAPSHOT_KILLS: String(Math.max(6, Math.floor(Number(KILLS) / 2))),
    SLUICE_CRASH_SNAPSHOT_ROWS: process.env.SOAK_SNAPSHOT_ROWS ?? '40000',
  },
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
