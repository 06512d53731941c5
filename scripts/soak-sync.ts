// `npm run soak:sync`: the batch copy's acceptance run, too long for `npm test`. A table of
// SOAK_ROWS rows (default 2,000,000) is copied with N = 1, 2 and 4 channels to each writer (local
// disk, HDFS, FTP, MySQL); each copy is killed with SIGKILL SOAK_KILLS times (default 10) at random
// checkpoints and instants, restarted each time, and finished; then the target is compared with the
// source row by row (every id once, every value equal, by a 64-bit digest per row).
//
// Its own servers, wiped first: MariaDB in .sluice/soak-mariadb, pure-ftpd in .sluice/soak-ftp, HDFS
// in .sluice/soak-hdfs (only when 'hdfs' is among SOAK_WRITERS). Environment:
//   SOAK_ROWS      rows in the source table (default 2000000)
//   SOAK_KILLS     kills per copy (default 10)
//   SOAK_WRITERS   comma list of local,hdfs,ftp,mysql (default all four)
//   SOAK_CHANNELS  comma list of channel counts (default 1,2,4)
//   SOAK_SEED      seed of the kill moments (default 1); a failing seed fails the same way again
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SyncJobInput } from '../src/config/sync-job-schema.ts';
import type { FileSystem } from '../src/filesystem/filesystem.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { WebHdfsFileSystem } from '../src/filesystem/webhdfs-filesystem.ts';
import { createLogger } from '../src/core/logger.ts';
import { RowLedger } from '../test/helpers/row-digest.ts';
import { runWithKills } from '../test/helpers/sync-crash-scenario.ts';
import { SOURCE_TABLE_DDL, fillSourceTable, forEachTableRow, forEachTargetRow, hiveTypesOf } from '../test/helpers/sync-fixture.ts';
import { startFtp } from '../test/servers/ftp.ts';
import { startHdfs, type HdfsServer } from '../test/servers/jvm.ts';
import { SLUICE_PASSWORD, SLUICE_USER, startMariaDb } from '../test/servers/mariadb.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const ROWS = Number(process.env.SOAK_ROWS ?? 2_000_000);
const KILLS = Number(process.env.SOAK_KILLS ?? 10);
const WRITERS = (process.env.SOAK_WRITERS ?? 'local,hdfs,ftp,mysql').split(',');
const CHANNELS = (process.env.SOAK_CHANNELS ?? '1,2,4').split(',').map(Number);
const SEED = Number(process.env.SOAK_SEED ?? 1);
const work = join(REPO, '.sluice', 'soak-sync');

const say = (line: string): void => void process.stdout.write(line + '\n');

rmSync(work, { recursive: true, force: true });
const mariaDir = join(REPO, '.sluice', 'soak-mariadb');
await (await startMariaDb({ dir: mariaDir }).catch(() => undefined))?.stop();
rmSync(mariaDir, { recursive: true, force: true });
const mariadb = await startMariaDb({ dir: mariaDir });
const ftp = WRITERS.includes('ftp') ? await startFtp({ dir: join(REPO, '.sluice', 'soak-ftp') }) : undefined;
let hdfs: HdfsServer | undefined;
if (WRITERS.includes('hdfs')) {
  rmSync(join(REPO, '.sluice', 'soak-hdfs'), { recursive: true, force: true });
  hdfs = await startHdfs({ dir: join(REPO, '.sluice', 'soak-hdfs') });
}

const root = await mariadb.rootConnection();
const results: { writer: string; channels: number; kills: number; runs: number; seconds: number; verdict: string }[] = [];
let failed = false;
try {
  await root.query('CREATE DATABASE soak_src');
  await root.query('CREATE DATABASE soak_dst');
  for (const host of ['127.0.0.1', 'localhost']) await root.query('GRANT ALL ON soak_dst.* TO ?@?', [SLUICE_USER, host]);
  await root.query(SOURCE_TABLE_DDL('soak_src.t'));
  let started = Date.now();
  await fillSourceTable(root, 'soak_src.t', ROWS);
  say(`source: soak_src.t, ${ROWS.toLocaleString('en-US')} rows, filled in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const ledger = new RowLedger(ROWS);
  await forEachTableRow(root, 'soak_src.t', (row) => ledger.expect(Number(row[0]), row));
  const hiveTypes = await hiveTypesOf(root, 'soak_src.t');

  for (const writerKind of WRITERS) {
    for (const channels of CHANNELS) {
      const name = `${writerKind}-${channels}`;
      let writer: SyncJobInput['writer'];
      let targetFs: FileSystem | undefined;
      let targetPath = '';
      if (writerKind === 'local') {
        targetPath = join(work, name);
        writer = { kind: 'local', path: targetPath, mode: 'overwrite' };
        targetFs = new LocalFileSystem('/');
      } else if (writerKind === 'hdfs') {
        const namenode = `http://${hdfs!.host}:${hdfs!.namenodeHttpPort}`;
        targetPath = `/soak/${name}`;
        writer = { kind: 'hdfs', namenodes: [namenode], path: targetPath, mode: 'overwrite' };
        targetFs = new WebHdfsFileSystem({ namenodes: [namenode], user: 'sluice', requestTimeoutMs: 60_000, logger: createLogger('silent') });
      } else if (writerKind === 'ftp') {
        targetPath = `/soak/${name}`;
        writer = { kind: 'ftp', host: ftp!.host, port: ftp!.port, user: ftp!.user, password: ftp!.password, path: targetPath, mode: 'overwrite' };
        targetFs = new LocalFileSystem(ftp!.rootDir);
      } else if (writerKind === 'mysql') {
        await root.query(SOURCE_TABLE_DDL(`soak_dst.t${channels}`));
        writer = { kind: 'mysql', host: '127.0.0.1', port: mariadb.port, user: SLUICE_USER, password: SLUICE_PASSWORD, table: `soak_dst.t${channels}`, mode: 'overwrite' };
      } else {
        throw new Error(`SOAK_WRITERS: unknown writer '${writerKind}'`);
      }
      started = Date.now();
      const job: SyncJobInput = {
        name,
        source: { host: '127.0.0.1', port: mariadb.port, user: SLUICE_USER, password: SLUICE_PASSWORD, table: 'soak_src.t', key: 'id' },
        channels,
        writer,
        checkpoint: { dir: join(work, 'state'), intervalSeconds: 1 },
      };
      const run = await runWithKills({ dir: join(work, 'jobs'), job, kills: KILLS, seed: SEED * 1000 + results.length, maxCheckpointsBeforeKill: 12, maxDelayMs: 1000 });
      const seconds = (Date.now() - started) / 1000;
      ledger.reset();
      if (targetFs) await forEachTargetRow(targetFs, targetPath, hiveTypes, (row) => ledger.found(row));
      else await forEachTableRow(root, `soak_dst.t${channels}`, (row) => ledger.found(row));
      const verdict = ledger.verdict() ?? 'exact';
      if (verdict !== 'exact') failed = true;
      results.push({ writer: writerKind, channels, kills: run.kills, runs: run.runs, seconds, verdict });
      say(`${name.padEnd(8)} ${run.kills} kills (after checkpoints ${run.checkpointsBeforeKill.join(',')}), ${run.runs} runs, ${seconds.toFixed(0)} s: ${verdict}`);
    }
  }
} finally {
  await root.end();
  await hdfs?.stop();
  await ftp?.stop();
  await mariadb.stop();
}
say('\nwriter  channels  kills  runs  seconds  target vs source');
for (const r of results) say(`${r.writer.padEnd(7)} ${String(r.channels).padStart(8)} ${String(r.kills).padStart(6)} ${String(r.runs).padStart(5)} ${r.seconds.toFixed(0).padStart(8)}  ${r.verdict}`);
process.exit(failed ? 1 : 0);
