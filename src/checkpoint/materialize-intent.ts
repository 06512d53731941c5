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
}

export type MaterializeStep = { step: 'staged' } | { step: 'recorded' } | { step: 'swapped' } | { step: 'cleaned' } | { step: 'done' };

export type MaterializeStepHook = (step: MaterializeStep) => void | Promise<void>;

const INTENT_FILE = /^materialize-(.+)\.json$/;

export function materializeIntentName(id: string): string {
  return `materialize-${id}.json`;
}

export async function writeMaterializeIntent(state: string | StateStore, intent: MaterializeIntent): Promise<void> {
  await writeStoredRecord(stateStoreOf(state), materializeIntentName(intent.id), intent);
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
  for (const name of names) {
    const intent = await readStoredRecord<MaterializeIntent>(store, name, 'materialization record');
    if (intent.format !== 1 || intent.kind !== 'materialize' || typeof intent.snapshot?.location !== 'string') {
      throw new SluiceError('SLUICE_CHECKPOINT_CORRUPT', `materialization record ${name} in ${store.description} is not a sluice materialization record of format 1`, {
        context: { file: name },
      });
    }
    await completeMaterialization(intent, fs, catalog, store);
    logger.info({ materialization: intent.id, table: intent.table, location: intent.snapshot.location }, 'recovered: recorded materialization completed');
  }
  return names.length;
}
