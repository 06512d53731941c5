// `sluice materialize [db.table ...]`: the materialization the daemon runs on its schedule
// (sink.materialize, docs/current-state.md), once, now, on the state of a stopped daemon. It holds
// the state lock, so it refuses while a daemon runs on the same state: only the daemon's loop knows
// that no commit is under way. First it does what a daemon's start does: carries out the newest
// record's commits and completes recorded compactions and materializations, so that every change
// up to the highest committed `_seq` is in place before the fold.
import type { SluiceConfig } from '../config/schema.ts';
import { SluiceError } from '../core/errors.ts';
import { HIVE } from '../pipeline/binlog-to-hive-record.ts';
import { newJobId } from '../pipeline/binlog-to-hive-job.ts';
import type { HiveCommits } from '../sinks/hive-commits.ts';
import { HiveRecovery } from '../sinks/hive-sink.ts';
import { Materializer } from '../sinks/materialize.ts';
import { changeStoppedState } from './checkpoint-command.ts';

export async function materializeNow(config: Pick<SluiceConfig, 'checkpoint' | 'sink' | 'log'>, names: string[]): Promise<string> {
  return changeStoppedState(config, async ({ store, storage, logger }) => {
    const record = await store.latest();
    await new HiveRecovery(storage.fs, storage.catalog, store.state, logger).recover(record?.sinks[HIVE] as HiveCommits | undefined);
    const tables = await storage.catalog.listTables();
    const unknown = names.filter((name) => !tables.some((table) => `${table.database}.${table.name}` === name));
    if (unknown.length > 0) {
      throw new SluiceError('SLUICE_CATALOG', `sluice materialize: ${unknown.join(', ')} is not a table of ${storage.catalog.description}; give tables as db.table`, {
        context: { tables: unknown },
      });
    }
    const settings = { ...config.sink.materialize, ...(names.length > 0 ? { tables: names } : {}) };
    const materializer = new Materializer({ fs: storage.fs, catalog: storage.catalog, stateDir: store.state, jobId: newJobId(), settings, logger });
    const figures = await materializer.run(tables, record?.id ?? 0);
    if (figures.length === 0) return 'nothing to materialize: no table with a primary key has changes after its snapshot\n';
    return figures.map((done) => `${done.snapshot}: ${done.rows} rows up to _seq ${done.watermark}${done.expired ? `, expired ${done.expired.join(' ')}` : ''}\n`).join('');
  });
}
