// The commit half of compacting one partition, and its recovery. Compaction replaces committed files
// with merged ones, so it needs its own small protocol beside the checkpoint's:
//
//   1. the merged files are written into staging (`<table>/.data/compact/<partition>/`), invisible;
//   2. an intent record `compaction-<id>.json` naming inputs and outputs is written atomically into
//      the state store: from this moment the compaction counts, and not before;
//   3. the outputs are renamed into the partition, then the inputs are deleted, then the record.
//
// Step 3 is idempotent, so recovery (before staging is deleted) simply runs it again for every record
// it finds. Without a record, staged outputs are garbage that the staging cleanup removes. A crash at
// any instant therefore leaves a partition with the old files or the new ones, never both, never
// neither. (A reader listing the partition between the renames and the deletes sees both for that
// moment; the state on disk converges as soon as the step, or recovery, finishes.)
//
// Under ha.zookeeper an intent carries its writer's epoch. HDFS has no conditional rename, so an old
// leader paused between its epoch check and the intent's rename can put one intent in place after a
// new leader took over and ran this recovery (docs/ha.md); the old leader's next rename fails its
// check, so nothing of that compaction went into a partition, and the new leader's staging cleanup
// already deleted its merged files. Completing it later could fail for inputs the new leader has
// compacted since, or put its merged files beside the new leader's. So a leader that has finished
// recovery records its epoch (compactions-recovered.json): every intent it found is then completed,
// and an intent of an older epoch found later can only be a late one. It is discarded: its staged
// files and its record deleted, the partition left as it is.
import type { Logger } from 'pino';
import { SluiceError } from '../core/errors.ts';
import type { StateStore } from '../core/state-store.ts';
import type { FileSystem } from '../filesystem/filesystem.ts';
import { readStoredRecord, storedPath, writeStoredRecord } from '../core/json-records.ts';
import { stateStoreOf } from '../runtime/local-state-store.ts';

export interface CompactionIntent {
  format: 1;
  kind: 'compaction';
  /** Unique, never reused: `<jobId>.<checkpointId>-<n>`, like the names of the files it writes. */
  id: string;
  createdAt: string;
  /** 'db.table'. */
  table: string;
  partition: Record<string, string>;
  /** Committed files that the outputs replace; deleted once every output is in place. */
  inputs: string[];
  /** Staged merged files and where they go in the partition. */
  outputs: { from: string; to: string }[];
  /** ha.zookeeper: the epoch of the leader that wrote it. */
  epoch?: number;
}

/** Where the steps of completing a compaction stand; tests stop the work at each to play a crash. */
export type CompactionStep =
  | { step: 'staged' }
  | { step: 'recorded' }
  | { step: 'renamed'; index: number }
  | { step: 'deleted'; index: number }
  | { step: 'done' };

export type CompactionStepHook = (step: CompactionStep) => void | Promise<void>;

const INTENT_FILE = /^compaction-(.+)\.json$/;
/** The epoch of the last leader that finished recovering compactions (not matched by INTENT_FILE). */
export const RECOVERED_EPOCH_FILE = 'compactions-recovered.json';

/** The intent's name in the state store. */
export function intentName(id: string): string {
  return `compaction-${id}.json`;
}

/** The intent's path, for tests and messages; a directory means the local store on it. */
export function intentFile(state: string | StateStore, id: string): string {
  return storedPath(stateStoreOf(state), intentName(id));
}

export async function writeIntent(state: string | StateStore, intent: CompactionIntent): Promise<void> {
  const store = stateStoreOf(state);
  await writeStoredRecord(store, intentName(intent.id), store.epoch === undefined ? intent : { ...intent, epoch: store.epoch });
}

/** Every intent record in the state store, oldest name first. */
export async function readIntents(state: string | StateStore): Promise<CompactionIntent[]> {
  const store = stateStoreOf(state);
  const intents: CompactionIntent[] = [];
  for (const name of (await store.list()).filter((entry) => INTENT_FILE.test(entry)).sort()) {
    const file = storedPath(store, name);
    const intent = await readStoredRecord<CompactionIntent>(store, name, 'compaction record');
    if (intent.format !== 1 || intent.kind !== 'compaction' || !Array.isArray(intent.inputs) || !Array.isArray(intent.outputs)) {
      throw new SluiceError('SLUICE_CHECKPOINT_CORRUPT', `compaction record ${file} is not a sluice compaction record of format 1`, { context: { file } });
    }
    intents.push(intent);
  }
  return intents;
}

/**
 * Step 3: outputs into the partition, inputs deleted, record deleted. Idempotent: an output whose
 * staged file is gone and whose target exists was renamed by an earlier attempt; an input that is
 * gone was deleted by one.
 */
export async function completeCompaction(
  intent: CompactionIntent,
  fs: FileSystem,
  state: string | StateStore,
  logger: Logger,
  onStep?: CompactionStepHook,
): Promise<void> {
  const store = stateStoreOf(state);
  const missing: string[] = [];
  for (let index = 0; index < intent.outputs.length; index++) {
    const output = intent.outputs[index]!;
    if (await fs.status(output.to)) continue; // renamed by the attempt that crashed
    if (await fs.status(output.from)) {
      await fs.rename(output.from, output.to);
      await onStep?.({ step: 'renamed', index });
    } else {
      missing.push(output.to);
    }
  }
  if (missing.length > 0) {
    await rollBack(intent, missing, fs, store, logger);
    return;
  }
  for (let index = 0; index < intent.inputs.length; index++) {
    await fs.delete(intent.inputs[index]!, false);
    await onStep?.({ step: 'deleted', index });
  }
  await store.remove(intentName(intent.id));
  await onStep?.({ step: 'done' });
}

/**
 * An output that is neither staged nor in place: something outside sluice deleted it (staging is
 * only deleted after this record is done). While every input is still there, the old files are the
 * whole truth: drop what went into place and the record. Otherwise rows are gone: say which.
 */
async function rollBack(intent: CompactionIntent, missing: string[], fs: FileSystem, store: StateStore, logger: Logger): Promise<void> {
  for (const input of intent.inputs) {
    if (!(await fs.status(input))) {
      throw new SluiceError(
        'SLUICE_COMMIT_LOST',
        `compaction ${intent.id} of ${intent.table} (${JSON.stringify(intent.partition)}) cannot be completed: its merged file ${missing[0]} ` +
          `is neither staged nor in place on ${fs.description}, and its input ${input} is already deleted. Something outside sluice ` +
          'deleted the merged file; the rows in it are missing from the table.',
        { context: { file: missing[0], table: intent.table } },
      );
    }
  }
  for (const output of intent.outputs) {
    await fs.delete(output.to, false);
    await fs.delete(output.from, false);
  }
  await store.remove(intentName(intent.id)).catch(() => undefined);
  logger.warn({ compaction: intent.id, table: intent.table, partition: intent.partition, missing }, 'compaction rolled back: a merged file was missing; the original files stay');
}

/** On start, before staging is deleted: finish every compaction that was recorded. */
export async function recoverCompactions(state: string | StateStore, fs: FileSystem, logger: Logger): Promise<number> {
  const store = stateStoreOf(state);
  const intents = await readIntents(store);
  const recovered = await recoveredEpoch(store);
  for (const intent of intents) {
    if (recovered !== undefined && intent.epoch !== undefined && intent.epoch < recovered) {
      await discardLateIntent(intent, fs, store, logger, recovered);
      continue;
    }
    await completeCompaction(intent, fs, store, logger);
    logger.info(
      { compaction: intent.id, table: intent.table, partition: intent.partition, filesIn: intent.inputs.length, filesOut: intent.outputs.length },
      'recovered: recorded compaction completed',
    );
  }
  // Only after every intent found is completed: from now on an older epoch's intent is a late one.
  if (store.epoch !== undefined && (recovered === undefined || recovered < store.epoch)) {
    await writeStoredRecord(store, RECOVERED_EPOCH_FILE, { epoch: store.epoch });
  }
  return intents.length;
}

async function recoveredEpoch(store: StateStore): Promise<number | undefined> {
  if ((await store.read(RECOVERED_EPOCH_FILE)) === undefined) return undefined;
  const { epoch } = await readStoredRecord<{ epoch: number }>(store, RECOVERED_EPOCH_FILE, 'compaction recovery record');
  return epoch;
}

/**
 * An old leader's late intent: its merged files never went into the partition (the rename after the
 * intent's fails its epoch check), so the inputs are the whole truth. Only its staged files and its
 * record go; the outputs' final names are left alone.
 */
async function discardLateIntent(intent: CompactionIntent, fs: FileSystem, store: StateStore, logger: Logger, recovered: number): Promise<void> {
  for (const output of intent.outputs) await fs.delete(output.from, false);
  await store.remove(intentName(intent.id));
  logger.warn(
    { compaction: intent.id, epoch: intent.epoch, recoveredEpoch: recovered, table: intent.table, partition: intent.partition },
    "compaction discarded: an old leader's intent written after a newer leader had recovered; the original files stay",
  );
}
