// Materialized current state: on a schedule, each changelog table's current state is folded into a
// snapshot table `<table>_snapshot` (snapshot-table.ts), so that a reader of the current state ranks
// one row per key plus the changes since, not the whole history. Incremental: the fold reads the
// previous snapshot and the changes after its watermark, up to the highest `_seq` committed now.
//
// Like compaction it runs inside the job's loop, right after a checkpoint commit, when its schedule
// has made it due: every file in a listed partition is then committed and no commit runs meanwhile,
// so the changes up to the watermark are all there, and every change committed later has a higher
// `_seq` (sequence numbers grow along the stream; a stopped table re-read later continues above the
// rows it has committed). The swap is exactly-once across kill -9: ../checkpoint/materialize-intent.ts.
//
// The fold runs in an in-process DuckDB over the committed files (the same views `sluice query`
// reads), which spills to disk rather than holding a large table in memory. Text rows are written out
// as the very lines they were read as, so the snapshot holds the changelog's bytes; Parquet rows are
// written by DuckDB with the types `sluice query` reads them as.
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Logger } from 'pino';
import type { Catalog, PartitionSpec, TableDefinition } from '../catalog/catalog.ts';
import { completeMaterialization, writeMaterializeIntent, type MaterializeIntent, type MaterializeStepHook } from '../checkpoint/materialize-intent.ts';
import type { StateStore } from '../core/state-store.ts';
import { joinPath, type FileSystem, type FileWriter } from '../filesystem/filesystem.ts';
import { partitionPath } from './changelog-layout.ts';
import { committedByKeptRecords } from './compaction.ts';
import { baseName, isChangelogTable, partitionClosed } from './compaction-plan.ts';
import { currentStateSql } from './current-state-sql.ts';
import { metadataNamesOf } from '../catalog/metadata-names.ts';
import { ScheduledTableWork } from './scheduled-table-work.ts';
import { createSnapshotView, generationLocation, snapshotAndChanges, snapshotRoot, snapshotTableName, snapshotWatermark } from './snapshot-table.ts';
import { createTableView, qualified, quote, RAW_LINE, withScratch } from './warehouse-views.ts';

/** `sink.materialize` in the configuration. */
export interface MaterializeSettings {
  enabled: boolean;
  /** node-cron expression, UTC. */
  schedule: string;
  /** 'all' changelog tables with a primary key, or these 'db.table' names. */
  tables: 'all' | string[];
  /** The snapshot table's name is the changelog table's followed by this. */
  suffix: string;
  /**
   * 0: off. Otherwise, after a swap, changelog partitions whose every row the snapshot holds the fold
   * of (all `_seq` up to its watermark) and whose UTC day ended more than this many days ago are dropped.
   */
  retentionDays: number;
}

export const DEFAULT_MATERIALIZE: MaterializeSettings = { enabled: false, schedule: '41 2 * * *', tables: 'all', suffix: '_snapshot', retentionDays: 0 };

export interface MaterializerOptions {
  fs: FileSystem;
  catalog: Catalog;
  /** Where the intent records go: the checkpoints' state store (a directory means the local one). */
  stateDir: string | StateStore;
  /** This run's id, part of every generation's name. */
  jobId: string;
  settings: MaterializeSettings;
  logger: Logger;
  /** Tests stop the work at a step to play a crash there. */
  onStep?: MaterializeStepHook;
  now?: () => number;
}

export interface MaterializeFigures {
  table: string;
  snapshot: string;
  watermark: string;
  rows: number;
  bytes: number;
  /** The changelog partitions dropped after the swap (retentionDays). */
  expired?: string[];
  ms: number;
}

export class Materializer extends ScheduledTableWork {
  private runIndex = 0;
  /** Tables that cannot be materialized, logged once per run of the daemon. */
  private readonly skipped = new Set<string>();

  constructor(private readonly options: MaterializerOptions) {
    super(options.settings.schedule, 'sluice-materialize');
  }

  /** Called by the loop right after a checkpoint commit (or a tick with nothing to commit). */
  async runIfDue(checkpointId: number): Promise<MaterializeFigures[] | undefined> {
    if (!this.takeDue()) return undefined;
    const tables: TableDefinition[] = [];
    for (const route of this.writtenTables()) {
      const table = await this.options.catalog.getTable(route.database, route.table);
      if (table) tables.push(table);
    }
    return this.run(tables, checkpointId);
  }

  /** Materializes those of `tables` the settings name; `sluice materialize` calls this with the catalog's. */
  async run(tables: readonly TableDefinition[], checkpointId: number): Promise<MaterializeFigures[]> {
    const figures: MaterializeFigures[] = [];
    for (const table of tables.filter((candidate) => this.wanted(candidate))) {
      const done = await this.materialize(table, checkpointId);
      if (done) figures.push(done);
    }
    return figures;
  }

  /**
   * Drops the partitions the snapshot just swapped in covers (coveredPartitions). Only after the swap,
   * so the rows are in the snapshot before they leave the changelog. The catalog forgets a partition
   * first, then its files go: a crash between leaves a directory no reader lists.
   */
  private async expire(connection: DuckDBConnection, table: TableDefinition, watermark: bigint): Promise<string[]> {
    const { fs, catalog, settings, logger, stateDir } = this.options;
    const protectedNames = await committedByKeptRecords(stateDir, logger, 'expiry');
    if (!protectedNames) return [];
    const partitions = await catalog.listPartitions(table.database, table.name);
    const now = this.options.now?.() ?? Date.now();
    const covered = await coveredPartitions(connection, table, partitions, watermark, { retentionDays: settings.retentionDays, now, protectedNames, fs });
    for (const partition of covered) {
      await catalog.dropPartition(table.database, table.name, partition.values);
      await fs.delete(partition.location, true);
    }
    return covered.map((partition) => partitionPath(partition.values));
  }

  private wanted(table: TableDefinition): boolean {
    const { tables } = this.options.settings;
    const label = `${table.database}.${table.name}`;
    if (!isChangelogTable(table)) return false;
    if (tables !== 'all' && !tables.includes(label)) return false;
    if (!table.primaryKey || table.primaryKey.length === 0) {
      this.skipOnce(label, 'no materialized snapshot: the table records no primary key (the source table has none)');
      return false;
    }
    return true;
  }

  private skipOnce(label: string, message: string, context: Record<string, unknown> = {}): void {
    if (this.skipped.has(label)) return;
    this.skipped.add(label);
    this.options.logger.warn({ table: label, ...context }, message);
  }

  /** One table: fold, stage, record, swap. Undefined when nothing changed since the last snapshot. */
  async materialize(table: TableDefinition, checkpointId: number): Promise<MaterializeFigures | undefined> {
    const { fs, catalog, jobId, settings, logger, onStep, stateDir } = this.options;
    const started = performance.now();
    const label = `${table.database}.${table.name}`;
    const snapshotName = snapshotTableName(table, settings.suffix);
    const existing = await catalog.getTable(table.database, snapshotName);
    if (existing && snapshotWatermark(existing) === undefined) {
      this.skipOnce(label, `no materialized snapshot: ${table.database}.${snapshotName} is a table sluice did not materialize; set sink.materialize.suffix to another suffix`, {
        location: existing.location,
      });
      return undefined;
    }
    // DuckDB's native module is loaded at the first fold, not with the daemon: most never fold.
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      return await withScratch(async (scratch) => {
        await createTableView(connection, table, catalog, fs, scratch, { rawLine: true });
        const previous = await createSnapshotView(connection, table, catalog, fs, scratch, settings.suffix, { rawLine: true });
        const after = previous?.watermark ?? -1n;
        const metadata = metadataNamesOf(table);
        const seq = quote(metadata.seq);
        const top = (await connection.runAndReadAll(`SELECT max(${seq})::VARCHAR FROM ${qualified(table)} WHERE ${seq} > ${after}`)).getRows()[0]?.[0];
        if (top === null || top === undefined) return undefined;
        const watermark = BigInt(String(top));
        const id = `${jobId}.${checkpointId}-${this.runIndex++}`;
        const root = snapshotRoot(table, settings.suffix);
        const location = generationLocation(root, watermark, id);
        const names = new Set(table.columns.map((column) => column.name));
        const select = table.format === 'text' ? quote(RAW_LINE) : table.columns.map((column) => quote(column.name)).join(', ');
        const fold = currentStateSql({ from: `(${snapshotAndChanges(previous?.view, table, after, watermark)})`, key: table.primaryKey!, hasSource: names.has(metadata.source), select, names: metadata });
        // 1. The new generation, in a directory no table points to.
        const written =
          table.format === 'text'
            ? await writeLines(connection, fold, await fs.create(joinPath(location, `m.${id}`)))
            : await writeParquet(connection, fold, join(await scratch(), `m.${id}.parquet`), await fs.create(joinPath(location, `m.${id}.parquet`)));
        await onStep?.({ step: 'staged' });
        // 2. The record: from here on the materialization counts.
        const intent: MaterializeIntent = {
          format: 1,
          kind: 'materialize',
          id,
          createdAt: new Date().toISOString(),
          table: label,
          snapshot: {
            database: table.database,
            name: snapshotName,
            columns: table.columns,
            partitionColumns: [],
            format: table.format,
            location,
            ...(table.metadataNames ? { metadataNames: table.metadataNames } : {}),
          },
          root,
          ...(previous ? { previous: previous.definition.location } : {}),
        };
        await writeMaterializeIntent(stateDir, intent);
        await onStep?.({ step: 'recorded' });
        // 3. Swap, old generations out, record gone.
        await completeMaterialization(intent, fs, catalog, stateDir, onStep);
        const expired = settings.retentionDays > 0 ? await this.expire(connection, table, watermark) : [];
        const figures = {
          table: label,
          snapshot: `${table.database}.${snapshotName}`,
          watermark: watermark.toString(),
          ...written,
          ...(expired.length > 0 ? { expired } : {}),
          ms: Math.round(performance.now() - started),
        };
        logger.info(figures, 'table materialized');
        return figures;
      });
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }
}

/**
 * The changelog partitions the snapshot in place covers: every row's `_seq` at most its watermark,
 * and the partition's UTC day ended more than `retentionDays` ago. Never one holding a file a kept
 * checkpoint record commits (recovery may redo that rename).
 */
async function coveredPartitions(
  connection: DuckDBConnection,
  table: TableDefinition,
  partitions: readonly PartitionSpec[],
  watermark: bigint,
  options: { retentionDays: number; now: number; protectedNames: ReadonlySet<string>; fs: FileSystem },
): Promise<PartitionSpec[]> {
  const columns = table.partitionColumns.map((column) => quote(column.name));
  const rows = (await connection.runAndReadAll(`SELECT ${columns.join(', ')}, max(${quote(metadataNamesOf(table).seq)})::VARCHAR FROM ${qualified(table)} GROUP BY ${columns.join(', ')}`)).getRows();
  const newest = new Map(rows.map((row) => [JSON.stringify(row.slice(0, columns.length).map(String)), BigInt(String(row[columns.length]))]));
  const covered: PartitionSpec[] = [];
  for (const partition of partitions) {
    const top = newest.get(JSON.stringify(table.partitionColumns.map((column) => partition.values[column.name] ?? '')));
    if (top === undefined || top > watermark) continue;
    if (!partitionClosed(partition.values, table.partitionColumns[0]!.name, options.now, options.retentionDays * 24)) continue;
    const names = (await options.fs.list(partition.location)).map((file) => baseName(file.path));
    if (names.some((name) => options.protectedNames.has(name))) continue;
    covered.push(partition);
  }
  return covered;
}

/** Text: the kept rows' lines as they were read, a DuckDB chunk at a time. */
async function writeLines(connection: DuckDBConnection, sql: string, writer: FileWriter): Promise<{ rows: number; bytes: number }> {
  let rows = 0;
  try {
    const result = await connection.stream(sql);
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const lines = chunk.getColumnVector(0).toArray() as (string | null)[];
      await writer.write(lines.map((line) => `${line ?? ''}\n`).join(''));
      rows += lines.length;
    }
    await writer.close();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return { rows, bytes: writer.bytesWritten };
}

/** Parquet: DuckDB writes the file on local disk, which is then copied to the file system. */
async function writeParquet(connection: DuckDBConnection, sql: string, local: string, writer: FileWriter): Promise<{ rows: number; bytes: number }> {
  let rows = 0;
  try {
    const copied = await connection.runAndReadAll(`COPY (${sql}) TO '${local.replace(/'/g, "''")}' (FORMAT parquet)`);
    rows = Number(copied.getRows()[0]?.[0] ?? 0);
    for await (const piece of createReadStream(local)) await writer.write(piece as Buffer);
    await writer.close();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return { rows, bytes: writer.bytesWritten };
}
