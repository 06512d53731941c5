// `npm run bench:parquet` (and the last part of `npm run bench`): how fast the Parquet writer turns
// rows into a file and how much memory it takes, side by side with the text format writing the same
// rows (the reference). Each format writes BENCH_PARQUET_ROWS rows of test/helpers/wide-rows.ts in a
// child process of its own whose V8 old space is capped at BENCH_PARQUET_HEAP_MIB, so its peak RSS
// is the writer's alone and a writer that held its rows would die. Figures, not verdicts: the tests
// check that Parquet files are right and that a million rows fit in a 64 MiB heap.
//   BENCH_PARQUET_ROWS      rows per format (default 1000000)
//   BENCH_PARQUET_HEAP_MIB  --max-old-space-size of each writer (default 64)
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeWideRowsInChild, type WideRowFormat, type WideRowReport } from '../test/helpers/write-wide-rows.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const ROWS = Number(process.env.BENCH_PARQUET_ROWS ?? 1_000_000);
const HEAP_MIB = Number(process.env.BENCH_PARQUET_HEAP_MIB ?? 64);
const work = join(REPO, '.sluice', 'bench-parquet');
const say = (line: string): void => void process.stdout.write(line + '\n');

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const runs: { format: WideRowFormat; report: WideRowReport }[] = [];
// The reference first, then Parquet the way the sink writes it (snappy) and uncompressed.
for (const format of ['text', 'parquet', 'parquet-uncompressed'] as const) {
  say(`writing ${ROWS.toLocaleString('en-US')} rows x 10 columns as ${format} in a ${HEAP_MIB} MiB heap ...`);
  runs.push({ format, report: writeWideRowsInChild(join(work, `rows.${format}`), format, ROWS, HEAP_MIB) });
}
rmSync(work, { recursive: true, force: true });

const reference = runs[0]!.report;
const rate = (report: WideRowReport): number => ROWS / report.seconds;
say('');
say(`${'format'.padEnd(22)} ${'seconds'.padStart(8)} ${'rows/s'.padStart(10)} ${'vs text'.padStart(8)} ${'file MiB'.padStart(9)} ${'peak RSS'.padStart(9)} ${'vs text'.padStart(8)}`);
for (const { format, report } of runs) {
  say(
    `${(format === 'text' ? 'text (reference)' : format).padEnd(22)} ${report.seconds.toFixed(2).padStart(8)} ${Math.round(rate(report)).toLocaleString('en-US').padStart(10)} ` +
      `${(rate(report) / rate(reference)).toFixed(2).padStart(7)}x ${(report.bytes / 1048576).toFixed(1).padStart(9)} ` +
      `${`${report.maxRssMiB} MiB`.padStart(9)} ${(report.maxRssMiB / reference.maxRssMiB).toFixed(2).padStart(7)}x`,
  );
}
say('\n(speed ratio: 0.50x = half as fast as text; RSS ratio: 2.00x = twice the memory of text)');
