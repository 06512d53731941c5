// `npm run bench:sync` (and the second half of `npm run bench`): how fast `sluice sync` copies a
// table, per channel count, side by side with what the server does on its own on the same table:
//   reference (files):  SELECT ... INTO OUTFILE (the server writes one file, no network)
//                       mariadb-dump --tab (the same through the client tool)
//   reference (MySQL):  INSERT INTO copy SELECT * FROM source (inside the server)
//   sluice:             `bin/sluice.js sync` to local files with N = 1, 2, 4 channels, and to a MySQL
//                       table with N = 1, 4; each run's peak RSS, and its target checked row by row
//                       against the source (a 64-bit digest per row) before its figure counts.
// A private MariaDB in .sluice/bench-sync-mariadb, wiped first. Environment:
//   BENCH_SYNC_ROWS   rows in the table (default 2000000)
//   BENCH_SYNC_PAGE   source.pageRows (default 10000)
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { RowLedger } from '../test/helpers/row-digest.ts';
import { SOURCE_TABLE_DDL, fillSourceTable, forEachTableRow, forEachTargetRow, hiveTypesOf } from '../test/helpers/sync-fixture.ts';
import { SLUICE_PASSWORD, SLUICE_USER, startMariaDb } from '../test/servers/mariadb.ts';
import type { SyncJobInput } from '../src/config/sync-job-schema.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const ROWS = Number(process.env.BENCH_SYNC_ROWS ?? 2_000_000);
const PAGE = Number(process.env.BENCH_SYNC_PAGE ?? 10_000);
const work = join(REPO, '.sluice', 'bench-sync');
const say = (line: string): void => void process.stdout.write(line + '\n');

interface Figure {
  what: string;
  seconds: number;
  peakRssMiB?: number;
  check: string;
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const mariaDir = join(REPO, '.sluice', 'bench-sync-mariadb');
await (await startMariaDb({ dir: mariaDir }).catch(() => undefined))?.stop();
rmSync(mariaDir, { recursive: true, force: true });
const mariadb = await startMariaDb({ dir: mariaDir });
const root = await mariadb.rootConnection();
const figures: Figure[] = [];
try {
  await root.query('CREATE DATABASE bench_src');
  await root.query('CREATE DATABASE bench_dst');
  for (const host of ['127.0.0.1', 'localhost']) await root.query('GRANT ALL ON bench_dst.* TO ?@?', [SLUICE_USER, host]);
  await root.query(SOURCE_TABLE_DDL('bench_src.t'));
  let started = Date.now();
  await fillSourceTable(root, 'bench_src.t', ROWS);
  const [[size]] = (await root.query("SELECT ROUND((DATA_LENGTH + INDEX_LENGTH) / 1048576) AS mib FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'bench_src' AND TABLE_NAME = 't'")) as unknown as [[{ mib: string }]];
  say(`bench_src.t: ${ROWS.toLocaleString('en-US')} rows, ${size.mib} MiB in InnoDB, filled in ${((Date.now() - started) / 1000).toFixed(1)} s; ${cpus().length} cores`);
  const ledger = new RowLedger(ROWS);
  await forEachTableRow(root, 'bench_src.t', (row) => ledger.expect(Number(row[0]), row));
  const hiveTypes = await hiveTypesOf(root, 'bench_src.t');
  // Warm the buffer pool the same for everyone: one full scan before the first measure.
  await root.query('SELECT COUNT(*), SUM(LENGTH(name)) FROM bench_src.t');

  // --- references ---
  const outfile = join(work, 'outfile', 't.txt');
  mkdirSync(join(work, 'outfile'), { recursive: true });
  chmodSync(join(work, 'outfile'), 0o777);
  started = Date.now();
  const [outfileResult] = (await root.query(`SELECT * INTO OUTFILE '${outfile}' FROM bench_src.t`)) as unknown as [{ affectedRows: number }];
  figures.push({ what: 'reference: SELECT ... INTO OUTFILE', seconds: (Date.now() - started) / 1000, check: `${outfileResult.affectedRows} rows` });

  const tabDir = join(work, 'dump-tab');
  mkdirSync(tabDir, { recursive: true });
  chmodSync(tabDir, 0o777);
  started = Date.now();
  execFileSync('mariadb-dump', [`--socket=${mariadb.socket}`, '--user=root', `--tab=${tabDir}`, 'bench_src', 't']);
  // Its newlines inside values are escaped with a backslash, so lines are not rows: report the size.
  const tabMiB = statSync(join(tabDir, 't.txt')).size / 1048576;
  figures.push({ what: 'reference: mariadb-dump --tab', seconds: (Date.now() - started) / 1000, check: `${tabMiB.toFixed(0)} MiB file` });

  await root.query(SOURCE_TABLE_DDL('bench_dst.server_copy'));
  started = Date.now();
  await root.query('INSERT INTO bench_dst.server_copy SELECT * FROM bench_src.t');
  figures.push({ what: 'reference: INSERT INTO ... SELECT (in the server)', seconds: (Date.now() - started) / 1000, check: 'in the server' });

  // --- sluice ---
  const runs: { channels: number; writer: SyncJobInput['writer']; label: string; verify: () => Promise<void> }[] = [];
  for (const channels of [1, 2, 4]) {
    const path = join(work, `local-${channels}`);
    runs.push({
      channels,
      label: `sluice sync -> local files, ${channels} channel${channels === 1 ? '' : 's'}`,
      writer: { kind: 'local', path, mode: 'overwrite' },
      verify: async () => void (await forEachTargetRow(new LocalFileSystem('/'), path, hiveTypes, (row) => ledger.found(row))),
    });
  }
  for (const channels of [1, 4]) {
    const table = `bench_dst.t${channels}`;
    await root.query(SOURCE_TABLE_DDL(table));
    runs.push({
      channels,
      label: `sluice sync -> MySQL table, ${channels} channel${channels === 1 ? '' : 's'}`,
      writer: { kind: 'mysql', host: '127.0.0.1', port: mariadb.port, user: SLUICE_USER, password: SLUICE_PASSWORD, table, mode: 'overwrite' },
      verify: () => forEachTableRow(root, table, (row) => ledger.found(row)),
    });
  }
  for (const run of runs) {
    const name = `bench-${run.label.replace(/\W+/g, '-')}`;
    const job: SyncJobInput = {
      name: name.slice(0, 60),
      source: { host: '127.0.0.1', port: mariadb.port, user: SLUICE_USER, password: SLUICE_PASSWORD, table: 'bench_src.t', key: 'id', pageRows: PAGE },
      channels: run.channels,
      writer: run.writer,
      checkpoint: { dir: join(work, 'state'), intervalSeconds: 10 },
      log: { level: 'warn' },
    };
    const jobFile = join(work, `${job.name}.yaml`);
    writeFileSync(jobFile, stringify(job));
    const { seconds, peakRssMiB, code, stderr } = await timed(jobFile);
    if (code !== 0) throw new Error(`${run.label} exited with ${code}: ${stderr}`);
    ledger.reset();
    await run.verify();
    const verdict = ledger.verdict();
    if (verdict !== undefined) throw new Error(`${run.label}: the target is not the source: ${verdict}`);
    figures.push({ what: run.label, seconds, peakRssMiB, check: 'exact, row by row' });
  }
} finally {
  await root.end();
  await mariadb.stop();
}

const outfileSeconds = figures[0]!.seconds;
const serverCopySeconds = figures[2]!.seconds;
say('');
say(`${'run'.padEnd(52)} ${'seconds'.padStart(8)} ${'rows/s'.padStart(10)} ${'vs OUTFILE'.padStart(11)} ${'vs INSERT..SELECT'.padStart(18)} ${'peak RSS'.padStart(9)}  check`);
for (const figure of figures) {
  const rate = ROWS / figure.seconds;
  say(
    `${figure.what.padEnd(52)} ${figure.seconds.toFixed(2).padStart(8)} ${Math.round(rate).toLocaleString('en-US').padStart(10)} ` +
      `${(outfileSeconds / figure.seconds).toFixed(2).padStart(10)}x ${(serverCopySeconds / figure.seconds).toFixed(2).padStart(17)}x ` +
      `${figure.peakRssMiB === undefined ? '-'.padStart(9) : `${figure.peakRssMiB.toFixed(0)} MiB`.padStart(9)}  ${figure.check}`,
  );
}
say('\n(ratios are speed relative to the reference: 0.50x = half as fast)');

/** Runs `sluice sync` and samples its peak RSS (VmHWM) until it exits. */
async function timed(jobFile: string): Promise<{ seconds: number; peakRssMiB: number; code: number | null; stderr: string }> {
  const started = Date.now();
  const child = spawn(process.execPath, [join(REPO, 'bin/sluice.js'), 'sync', '--job', jobFile, '--no-progress'], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let peakKiB = 0;
  const sample = setInterval(() => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (match) peakKiB = Math.max(peakKiB, Number(match[1]));
    } catch {
      // exited between samples
    }
  }, 50);
  const code: number | null = await new Promise((resolve) => child.on('exit', (status) => resolve(status)));
  clearInterval(sample);
  return { seconds: (Date.now() - started) / 1000, peakRssMiB: peakKiB / 1024, code, stderr: stderr.slice(-3000) };
}
