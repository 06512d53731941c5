// Compaction of closed partitions: many small committed files become a few files of up to
// `sink.rollBytes`. It runs inside the job's loop, right after a checkpoint commit, when a node-cron
// schedule has said it is due: so no commit runs meanwhile, and the stream waits for it (hence
// `maxPartitionsPerRun`). The commit protocol of a merge is in ../checkpoint/compaction-intent.ts.
// Only tables this run of the daemon has written to are compacted (scheduled-table-work.ts).
//
// Two rules keep it exactly-once next to the checkpoint protocol:
// - files that a kept checkpoint record commits are never inputs: recovery redoes the newest record's
//   renames, and a rename whose staging file and target are both gone is SLUICE_COMMIT_LOST;
// - output names are new (`c.<jobId>.<checkpointId>-<n>`), like every sink file, so no name is reused.
import type { Logger } from 'pino';
import type { Catalog, PartitionSpec, TableDefinition } from '../catalog/catalog.ts';
import type { StateStore } from '../core/state-store.ts';
import { stateStoreOf } from '../runtime/local-state-store.ts';
import { upgradeRecord, type StoredRecord } from '../checkpoint/checkpoint-record.ts';
import type { PendingCommit } from './hive-commits.ts';
import { completeCompaction, writeIntent, type CompactionIntent, type CompactionStepHook } from '../checkpoint/compaction-intent.ts';
import { joinPath, type FileStatus, type FileSystem } from '../filesystem/filesystem.ts';
import { partitionPath } from './changelog-layout.ts';
import {
  baseName,
  FORMAT_EXTENSIONS,
  isChangelogTable,
  partitionClosed,
  planPartition,
  type CompactionSettings,
} from './compaction-plan.ts';
import { ScheduledTableWork } from './scheduled-table-work.ts';
import { STAGING_DIR } from './hive-changelog-sink.ts';
import { mergeParquetFiles, ParquetMergeRefused } from './parquet-merge.ts';

export { DEFAULT_COMPACTION, type CompactionSettings } from './compaction-plan.ts';

/** Merged files are staged here, below the table's staging directory, which recovery cleans. */
export const COMPACTION_STAGING_DIR = 'compact';

export interface CompactorOptions {
  fs: FileSystem;
  catalog: Catalog;
  /** The checkpoint state directory: intent records go here, and kept records are read from it. */
  /** Where the intent records go: the checkpoints' state store (a directory means the local one). */
  stateDir: string | StateStore;
  /** This run's id, part of every output name. */
  jobId: string;
  rollBytes: number;
  settings: CompactionSettings;
  logger: Logger;
  /** Tests stop the work at a step to play a crash there. */
  onStep?: CompactionStepHook;
  now?: () => number;
}

export interface CompactionRunFigures {
  partitions: number;
  filesIn: number;
  filesOut: number;
  bytes: number;
  durationMs: number;
}

export class Compactor extends ScheduledTableWork {
  private fileIndex = 0;
  private runIndex = 0;
  /** Tables whose format cannot be compacted yet, logged once per run of the daemon. */
  private readonly skippedTables = new Set<string>();

  constructor(private readonly options: CompactorOptions) {
    super(options.settings.schedule, 'sluice-compaction');
  }

  /** Called by the loop right after a checkpoint commit (or a tick with nothing to commit). */
  async runIfDue(checkpointId: number): Promise<CompactionRunFigures | undefined> {
    if (!this.takeDue()) return undefined;
    return this.run(checkpointId);
  }

  /** One pass over the closed partitions of the tables written to, at most `maxPartitionsPerRun`. */
  async run(checkpointId: number): Promise<CompactionRunFigures> {
    const { fs, catalog, settings, logger } = this.options;
    const started = performance.now();
    const figures: CompactionRunFigures = { partitions: 0, filesIn: 0, filesOut: 0, bytes: 0, durationMs: 0 };
    const protectedNames = await committedByKeptRecords(this.options.stateDir, logger, 'compaction');
    if (!protectedNames) return figures;
    const now = this.options.now?.() ?? Date.now();
    let more = false;
    tables: for (const route of this.writtenTables()) {
      const table = await catalog.getTable(route.database, route.table);
      if (!table || !isChangelogTable(table)) continue;
      const label = `${table.database}.${table.name}`;
      if (this.skippedTables.has(label)) continue;
      const dayColumn = table.partitionColumns[0]!.name;
      const partitions = [...(await catalog.listPartitions(table.database, table.name))].sort((a, b) => (a.location < b.location ? -1 : 1));
      for (const partition of partitions) {
        if (!partitionClosed(partition.values, dayColumn, now, settings.closedAfterHours)) continue;
        const groups = planPartition(await fs.list(partition.location), {
          extension: FORMAT_EXTENSIONS[table.format],
          smallFileBytes: settings.smallFileBytes,
          rollBytes: this.options.rollBytes,
          minFiles: settings.minFiles,
          protectedNames,
        });
        if (!groups) continue;
        if (figures.partitions >= settings.maxPartitionsPerRun) {
          more = true;
          break tables;
        }
        let merged;
        try {
          merged = await this.compactPartition(table, partition, groups, checkpointId);
        } catch (error) {
          if (!(error instanceof ParquetMergeRefused)) throw error;
          // Nothing was recorded: the staged outputs are deleted with the rest of staging at the next start.
          logger.warn({ table: label, partition: partitionPath(partition.values), err: error }, 'compaction skips this table for the rest of the run');
          this.skippedTables.add(label);
          continue tables;
        }
        figures.partitions++;
        figures.filesIn += merged.filesIn;
        figures.filesOut += merged.filesOut;
        figures.bytes += merged.bytes;
      }
    }
    figures.durationMs = Math.round(performance.now() - started);
    if (figures.partitions > 0 || more) {
      logger.info({ ...figures, more }, more ? 'compaction run stopped at maxPartitionsPerRun; the rest waits for the next run' : 'compaction run done');
    }
    return figures;
  }

  private async compactPartition(
    table: TableDefinition,
    partition: PartitionSpec,
    groups: FileStatus[][],
    checkpointId: number,
  ): Promise<{ filesIn: number; filesOut: number; bytes: number }> {
    const { fs, jobId, stateDir, logger, onStep } = this.options;
    const started = performance.now();
    const extension = FORMAT_EXTENSIONS[table.format];
    const stagingDir = joinPath(table.location, STAGING_DIR, COMPACTION_STAGING_DIR, partitionPath(partition.values));
    const outputs: CompactionIntent['outputs'] = [];
    let bytes = 0;
    // 1. Merged files into staging, invisible to readers.
    const nextOutput = (): string => {
      const name = `c.${jobId}.${checkpointId}-${this.fileIndex++}${extension}`;
      const from = joinPath(stagingDir, name);
      outputs.push({ from, to: joinPath(partition.location, name) });
      return from;
    };
    for (const group of groups) {
      // Text files are lines, so their concatenation is the merge; Parquet files are merged by row
      // group, one output per run of inputs with the same columns.
      if (table.format === 'parquet') bytes += (await mergeParquetFiles(fs, group, nextOutput)).bytes;
      else bytes += await concatenate(fs, group, nextOutput());
    }
    await onStep?.({ step: 'staged' });
    // 2. The record: from here on the merge counts.
    const intent: CompactionIntent = {
      format: 1,
      kind: 'compaction',
      id: `${jobId}.${checkpointId}-${this.runIndex++}`,
      createdAt: new Date().toISOString(),
      table: `${table.database}.${table.name}`,
      partition: partition.values,
      inputs: groups.flat().map((file) => file.path),
      outputs,
    };
    await writeIntent(stateDir, intent);
    await onStep?.({ step: 'recorded' });
    // 3. Outputs in, inputs out, record gone.
    await completeCompaction(intent, fs, stateDir, logger, onStep);
    const figures = { filesIn: intent.inputs.length, filesOut: outputs.length, bytes };
    logger.info(
      { table: intent.table, partition: partitionPath(partition.values), ...figures, ms: Math.round(performance.now() - started) },
      'partition compacted',
    );
    return figures;
  }
}

/**
 * Text files are self-contained lines, so their concatenation is a valid merge. Inputs are small by
 * definition: one is read whole at a time. A file that does not end its last line gets the newline
 * (a reader ends the line at the end of the file anyway), so two lines never run together.
 */
async function concatenate(fs: FileSystem, inputs: readonly FileStatus[], target: string): Promise<number> {
  const writer = await fs.create(target);
  try {
    for (const input of inputs) {
      const content = await fs.readFile(input.path);
      if (content.length === 0) continue;
      await writer.write(content);
      if (content[content.length - 1] !== 0x0a) await writer.write('\n');
    }
    await writer.close();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return writer.bytesWritten;
}

/**
 * Names of the files that the kept checkpoint records commit. Recovery redoes the newest record's
 * commits, and a person may fall back to an older kept record: none of their files may vanish into
 * a merge or an expiry. Undefined (no run) when a record cannot be read: recovery will name the damage.
 */
export async function committedByKeptRecords(stateDir: string | StateStore, logger: Logger, work: string): Promise<Set<string> | undefined> {
  const names = new Set<string>();
  const state = stateStoreOf(stateDir);
  let files: string[];
  try {
    files = await state.list();
  } catch (error) {
    // Not knowing which files the records name (HDFS unreachable, say) is no run, not no protection.
    logger.warn({ state: state.description, error: (error as Error).message }, `${work} skipped: the state directory cannot be listed`);
    return undefined;
  }
  for (const file of files.filter((name) => /^checkpoint-\d+\.json$/.test(name))) {
    let record: StoredRecord;
    try {
      const content = await state.read(file);
      if (content === undefined) continue; // pruned meanwhile: not the newest
      record = JSON.parse(content.toString('utf8')) as StoredRecord;
    } catch (error) {
      logger.warn({ file, error: (error as Error).message }, `${work} skipped: a checkpoint record cannot be read`);
      return undefined;
    }
    // Every sink's renames: which part of the record is this sink's is the pipeline's naming.
    for (const pending of Object.values(upgradeRecord(record).sinks ?? {})) {
      for (const commit of (pending.commits ?? []) as PendingCommit[]) if (commit.kind === 'rename') names.add(baseName(commit.to));
    }
  }
  return names;
}
