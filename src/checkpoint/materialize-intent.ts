// The commit half of a materialization (sinks/materialize.ts), and its recovery. A materialization
// writes a table's folded current state into a new directory and swaps the snapshot table to it:
//
//   1. the new generation is written in full to `<root>/g-<watermark>-<id>/`, which no table points to;
//   2. an intent record `materialize-<id>.json` naming it is written atomically into the state store:
//      from this moment the materialization counts, and not before;
//   3. the snapshot table is created at, or swapped to, the new location (one catalog update), then
//      every other generation but the one just replaced is deleted, then the record.
//
// Step 3 is idempotent, so recovery runs it again for every record it finds. A crash before the record
// leaves the old snapshot in place and the new directory as garbage, which the next completed
// materialization deletes. The generation just replaced is kept until the next one: a query that
// listed its files a moment before the swap still finds them.
//
// Under ha.zookeeper an intent carries its writer's epoch, as a compaction intent does
// (compaction-intent.ts): an old leader paused between its epoch check and the intent's rename can put
// one intent in place after a new leader recovered; its own swap then fails its check (catalog writes
// and deletes are fenced, runtime/zookeeper-leadership.ts). Completing it later would swap the table
// back to an older snapshot, whose changelog partitions retentionDays may have dropped since. So once a
// leader has completed every intent it found it records its epoch, and an older epoch's intent found
// after that is discarded: its generation deleted (no table points to it), its record removed.
import type { Logger } from 'pino';
import type { Catalog, TableDefinition } from '../catalog/catalog.ts';
import { normalizeHiveType } from '../catalog/hive-ddl.ts';
import { SluiceError } from '../core/errors.ts';
import type { StateStore } from '../core/state-store.ts';
import { readStoredRecord, writeStoredRecord } from '../core/json-records.ts';
import type { FileSystem } from '../filesystem/filesystem.ts';
import { stateStoreOf } from '../runtime/local-state-store.ts';

export interface MaterializeIntent {
  format: 1;
  kind: 'materialize';
  /** Unique, never reused: `<jobId>.<checkpointId>-<n>`. */
  id: string;
  createdAt: string;
  /** The changelog table, 'db.table'. */
  table: string;
  /** The snapshot table as it is to be: its location is the new generation. */
  snapshot: TableDefinition;
  /** The directory of every generation. */
  root: string;
  /** The generation being replaced, kept until the next swap; absent at the first. */
  previous?: string;
  /** ha.zookeeper: the epoch of the leader that wrote it. */
  epoch?: number;
}

export type MaterializeStep = { step: 'staged' } | { step: 'recorded' } | { step: 'swapped' } | { step: 'cleaned' } | { step: 'done' };

export type MaterializeStepHook = (step: MaterializeStep) => void | Promise<void>;

const INTENT_FILE = /^materialize-(.+)\.json$/;
/** The epoch of the last leader that finished recovering materializations (not matched by INTENT_FILE). */
export const MATERIALIZATIONS_RECOVERED_FILE = 'materializations-recovered.json';

export function materializeIntentName(id: string): string {
  return `materialize-${id}.json`;
}

export async function writeMaterializeIntent(state: string | StateStore, intent: MaterializeIntent): Promise<void> {
  const store = stateStoreOf(state);
  await writeStoredRecord(store, materializeIntentName(intent.id), store.epoch === undefined ? intent : { ...intent, epoch: store.epoch });
}

/** Step 3: the swap, the old generations deleted, the record deleted. Idempotent. */
export async function completeMaterialization(
  intent: MaterializeIntent,
  fs: FileSystem,
  catalog: Catalog,
  state: string | StateStore,
  onStep?: MaterializeStepHook,
): Promise<void> {
  const { snapshot } = intent;
  if (!(await fs.status(snapshot.location))) {
    // Written in full before the record, deleted only by a later completion: something outside sluice
    // removed it. The table still points where it did, so nothing half-made is visible.
    throw new SluiceError(
      'SLUICE_COMMIT_LOST',
      `materialization ${intent.id} of ${intent.table} cannot be completed: its snapshot ${snapshot.location} is gone from ${fs.description}. ` +
        `Something outside sluice deleted it; delete the record ${materializeIntentName(intent.id)} from the state store, and the next materialization writes a new snapshot.`,
      { context: { file: snapshot.location, table: intent.table } },
    );
  }
  const existing = await catalog.getTable(snapshot.database, snapshot.name);
  if (!existing) {
    await catalog.createTable(snapshot);
  } else {
    // The changelog's columns grew or widened since the last snapshot: the table follows first, so the
    // files it is swapped to are read with their columns.
    const known = new Map(existing.columns.map((column) => [column.name.toLowerCase(), column.type]));
    const added = snapshot.columns.filter((column) => !known.has(column.name.toLowerCase()));
    if (added.length > 0) await catalog.addColumns(snapshot.database, snapshot.name, added);
    for (const column of snapshot.columns) {
      const type = known.get(column.name.toLowerCase());
      if (type !== undefined && normalizeHiveType(type) !== normalizeHiveType(column.type)) {
        await catalog.changeColumnType(snapshot.database, snapshot.name, column.name, column.type);
      }
    }
    await catalog.setLocation(snapshot.database, snapshot.name, snapshot.location);
  }
  await onStep?.({ step: 'swapped' });
  const keep = new Set([snapshot.location, intent.previous]);
  for (const entry of await fs.list(intent.root)) {
    if (!keep.has(entry.path)) await fs.delete(entry.path, true);
  }
  await onStep?.({ step: 'cleaned' });
  await stateStoreOf(state).remove(materializeIntentName(intent.id));
  await onStep?.({ step: 'done' });
}

/** On start: finish every materialization that was recorded. */
export async function recoverMaterializations(state: string | StateStore, fs: FileSystem, catalog: Catalog, logger: Logger): Promise<number> {
  const store = stateStoreOf(state);
  const names = (await store.list()).filter((entry) => INTENT_FILE.test(entry)).sort();
  const recovered = await recoveredEpoch(store);
  for (const name of names) {
    const intent = await readStoredRecord<MaterializeIntent>(store, name, 'materialization record');
    if (intent.format !== 1 || intent.kind !== 'materialize' || typeof intent.snapshot?.location !== 'string') {
      throw new SluiceError('SLUICE_CHECKPOINT_CORRUPT', `materialization record ${name} in ${store.description} is not a sluice materialization record of format 1`, {
        context: { file: name },
      });
    }
    if (recovered !== undefined && intent.epoch !== undefined && intent.epoch < recovered) {
      await discardLateIntent(intent, fs, catalog, store, logger, recovered);
      continue;
    }
    await completeMaterialization(intent, fs, catalog, store);
    logger.info({ materialization: intent.id, table: intent.table, location: intent.snapshot.location }, 'recovered: recorded materialization completed');
  }
  // Only after every intent found is completed: from now on an older epoch's intent is a late one.
  if (store.epoch !== undefined && (recovered === undefined || recovered < store.epoch)) {
    await writeStoredRecord(store, MATERIALIZATIONS_RECOVERED_FILE, { epoch: store.epoch });
  }
  return names.length;
}

async function recoveredEpoch(store: StateStore): Promise<number | undefined> {
  if ((await store.read(MATERIALIZATIONS_RECOVERED_FILE)) === undefined) return undefined;
  const { epoch } = await readStoredRecord<{ epoch: number }>(store, MATERIALIZATIONS_RECOVERED_FILE, 'materialization recovery record');
  return epoch;
}

/** An old leader's late intent: its generation goes (unless the table points there after all), then its record. */
async function discardLateIntent(intent: MaterializeIntent, fs: FileSystem, catalog: Catalog, store: StateStore, logger: Logger, recovered: number): Promise<void> {
  const { snapshot } = intent;
  const current = await catalog.getTable(snapshot.database, snapshot.name);
  if (current?.location !== snapshot.location) await fs.delete(snapshot.location, true);
  await store.remove(materializeIntentName(intent.id));
  logger.warn(
    { materialization: intent.id, epoch: intent.epoch, recoveredEpoch: recovered, table: intent.table, location: snapshot.location },
    "materialization discarded: an old leader's intent written after a newer leader had recovered; the snapshot table stays where it is",
  );
}
