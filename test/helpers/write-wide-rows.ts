// A child process for the Parquet memory test and benchmark:
//   node [--max-old-space-size=N] --import tsx test/helpers/write-wide-rows.ts FILE FORMAT ROWS
// writes ROWS wideRows() to FILE (an absolute path) in FORMAT (text, parquet, parquet-uncompressed)
// and prints one JSON line: { seconds, maxRssMiB, bytes }. Its own process, so its heap can be capped
// and its peak RSS is the writer's alone.
import { spawnSync } from 'node:child_process';
import { LocalFileSystem } from '../../src/filesystem/local-filesystem.ts';
import { createParquetFormat, parquetFormat } from '../../src/sinks/parquet-format.ts';
import { textFormat, type RowFileFormat } from '../../src/sinks/row-file-format.ts';
import { WIDE, wideRows } from './wide-rows.ts';

export const WIDE_ROW_FORMATS = ['text', 'parquet', 'parquet-uncompressed'] as const;
export type WideRowFormat = (typeof WIDE_ROW_FORMATS)[number];
export interface WideRowReport {
  seconds: number;
  maxRssMiB: number;
  bytes: number;
}

export const WRITE_WIDE_ROWS_SCRIPT = new URL(import.meta.url).pathname;

const FORMATS: Record<WideRowFormat, () => RowFileFormat> = {
  text: () => textFormat,
  parquet: () => parquetFormat,
  'parquet-uncompressed': () => createParquetFormat({ codec: 'UNCOMPRESSED' }),
};

async function main(path: string, format: WideRowFormat, rows: number): Promise<void> {
  const fs = new LocalFileSystem('/');
  const writer = FORMATS[format]().open(await fs.create(path), WIDE);
  const started = performance.now();
  for (const row of wideRows(rows)) await writer.write(row);
  await writer.close();
  const seconds = (performance.now() - started) / 1000;
  const report: WideRowReport = { seconds, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), bytes: (await fs.status(path))!.length };
  console.log(JSON.stringify(report));
}

/** Runs this script in a child with V8's old space capped at `heapMiB`; throws with its stderr when it fails. */
export function writeWideRowsInChild(path: string, format: WideRowFormat, rows: number, heapMiB: number): WideRowReport {
  const child = spawnSync(process.execPath, [`--max-old-space-size=${heapMiB}`, '--import', 'tsx', WRITE_WIDE_ROWS_SCRIPT, path, format, String(rows)], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (child.status !== 0) throw new Error(`writing ${rows} rows as ${format} in a ${heapMiB} MiB heap failed (${child.signal ?? child.status}):\n${child.stderr.slice(-3000)}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as WideRowReport;
}

if (process.argv[1] === WRITE_WIDE_ROWS_SCRIPT) {
  const [path, format, rows] = process.argv.slice(2);
  if (!path || !WIDE_ROW_FORMATS.includes(format as WideRowFormat) || !(Number(rows) > 0)) {
    console.error(`usage: write-wide-rows.ts FILE ${WIDE_ROW_FORMATS.join('|')} ROWS`);
    process.exit(2);
  }
  await main(path, format as WideRowFormat, Number(rows));
}
