// Materialized current state (src/sinks/materialize.ts): a changelog table's current state folded
// into `<table>_snapshot`, incrementally, swapped in through the catalog, and read back by
// `sluice query --current` as the snapshot plus the changes after its watermark. A seeded random
// workload (inserts, updates, deletes, snapshot reads, truncate markers of one of two sources, an
// added column, values that need escaping) is written in batches; after each, the materialized
// current state must equal a model of the source row by row, and equal the view over the whole
// history. Then a crash is played at every step of the swap: recovery leaves it exact.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { TableDefinition } from '../src/catalog/catalog.ts';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { recoverMaterializations, type MaterializeStep } from '../src/checkpoint/materialize-intent.ts';
import { queryWarehouse } from '../src/cli/query.ts';
import type { CellValue } from '../src/core/change-event.ts';
import { encodeRow } from '../src/sinks/hive-text-codec.ts';
import { DEFAULT_MATERIALIZE, Materializer } from '../src/sinks/materialize.ts';
import { snapshotWatermark } from '../src/sinks/snapshot-table.ts';
import { prng } from './helpers/change-generator.ts';
import { localWarehouse, type LocalWarehouse } from './helpers/local-warehouse.ts';
import { REPO_ROOT } from './helpers/servers.ts';
import { writeWholeFile } from './helpers/whole-file.ts';

const SEED = Number(process.env.SLUICE_CRASH_SEED ?? Date.now() % 1_000_000);
const SOURCES = ['shop.orders_a', 'shop.orders_b'];
const logger = pino({ level: 'silent' });

class Crash extends Error {}

/** The source as it stands: per `_source` and id, the row (id, amount, note, extra). */
type Model = Map<string, (string | null)[]>;

describe(`materialized current state (seed ${SEED})`, () => {
  let w: LocalWarehouse;
  let table: TableDefinition;
  const model: Model = new Map();
  const random = prng(SEED);
  let seq = 0;
  let batch = 0;
  let withExtra = false;

  before(async () => {
    w = await localWarehouse('sluice-materialize-', [
      { name: 'id', type: 'bigint' },
      { name: 'amount', type: 'decimal(10,2)' },
      { name: 'note', type: 'string' },
    ]);
    await w.catalog.setPrimaryKey('ods', 'orders', ['id']);
    table = (await w.catalog.getTable('ods', 'orders'))!;
  });

  after(async () => {
    await rm(w.dir, { recursive: true, force: true });
  });

  /** One committed file of random changes in the partition of day `day`, applied to the model too. */
  async function writeBatch(changes: number, day: number): Promise<void> {
    const dt = `2026-12-0${day}`;
    const rows: Buffer[] = [];
    const types = table.columns.map((column) => column.type);
    for (let index = 0; index < changes; index++) {
      const source = SOURCES[random() < 0.5 ? 0 : 1]!;
      const pick = random();
      seq++;
      let op: string;
      let row: (string | null)[] = [null, null, null, null];
      if (pick < 0.03) {
        op = 'truncate';
        for (const key of [...model.keys()]) if (key.startsWith(`${source}|`)) model.delete(key);
      } else {
        const id = String(1 + Math.floor(random() * 30));
        const key = `${source}|${id}`;
        const note = random() < 0.2 ? `tab\there\nnew \\ line ${seq}` : `note ${seq}`;
        row = [id, `${Math.floor(random() * 10000)}.${String(seq % 100).padStart(2, '0')}`, note, withExtra ? `x${seq}` : null];
        if (pick < 0.2 && model.has(key)) {
          op = 'delete';
          row = model.get(key)!;
          model.delete(key);
        } else {
          op = pick < 0.3 ? 'read' : model.has(key) ? 'update' : 'insert';
          model.set(key, row);
        }
      }
      const values: CellValue[] = [row[0]!, row[1]!, row[2]!, op, `${dt} 10:00:00`, `0-1-${seq}`, String(seq), source];
      const ordered = withExtra ? [...values, row[3]!] : values;
      if (op === 'truncate') ordered.splice(0, 3, null, null, null);
      rows.push(encodeRow(ordered, types));
    }
    const location = `${table.location}/dt=${dt}`;
    // Staged under a hidden name and renamed into place, as the sink commits: a reader sees all of it or none.
    const name = `0.job.${++batch}-0`;
    await writeWholeFile(w.fs, `${location}/.${name}`, Buffer.concat(rows));
    await w.fs.rename(`${location}/.${name}`, `${location}/${name}`);
    await w.catalog.addPartition('ods', 'orders', { values: { dt }, location });
  }

  function expected(): (string | null)[][] {
    return sorted([...model.values()].map((row) => (withExtra ? row : row.slice(0, 3))));
  }

  async function current(suffix?: string): Promise<(string | null)[][]> {
    const columns = withExtra ? 'id, amount, note, extra' : 'id, amount, note';
    const result = await queryWarehouse({ catalog: w.catalog, fs: w.fs, sql: `SELECT ${columns} FROM ods.orders_current`, ...(suffix ? { snapshotSuffix: suffix } : {}) });
    return sorted(result.rows);
  }

  function materializer(onStep?: (step: MaterializeStep) => void): Materializer {
    return new Materializer({
      fs: w.fs,
      catalog: w.catalog,
      stateDir: w.store.dir,
      jobId: 'job',
      settings: { ...DEFAULT_MATERIALIZE, enabled: true },
      logger,
      ...(onStep ? { onStep } : {}),
    });
  }

  async function snapshot(): Promise<TableDefinition | undefined> {
    return w.catalog.getTable('ods', 'orders_snapshot');
  }

  it('folds incrementally, batch after batch, into a snapshot that with the changes after it is the source', async () => {
    let checkpoint = 0;
    for (let round = 0; round < 6; round++) {
      if (round === 3) {
        // A column added at the source: earlier rows (and the snapshot's) read it as NULL.
        await w.catalog.addColumns('ods', 'orders', [{ name: 'extra', type: 'string' }]);
        table = (await w.catalog.getTable('ods', 'orders'))!;
        withExtra = true;
        for (const row of model.values()) row[3] = null;
      }
      await writeBatch(120, 1 + (round % 3));
      const [figures] = await materializer().run([table], ++checkpoint);
      assert.ok(figures, `round ${round} materialized`);
      assert.equal(figures.watermark, String(seq));
      assert.equal(figures.rows, model.size, `round ${round}: the snapshot holds one row per live key`);
      // Changes after the snapshot: the view reads them on top of it.
      await writeBatch(25, 1 + ((round + 1) % 3));
      assert.deepEqual(await current(), expected(), `round ${round}: snapshot + later changes`);
      assert.deepEqual(await current('_none'), expected(), `round ${round}: the whole history agrees`);
    }
    const generations = await w.fs.list('/ods.db/orders_snapshot');
    assert.equal(generations.length, 2, 'the current generation and the one it replaced are kept, no more');
    // Nothing new since the last run but the 25 changes: a run folds them; a second run has nothing to do.
    assert.equal((await materializer().run([table], 100)).length, 1);
    assert.deepEqual(await materializer().run([table], 101), []);
    const rows = await queryWarehouse({ catalog: w.catalog, fs: w.fs, sql: 'SELECT id, amount, note, extra FROM ods.orders_snapshot' });
    assert.deepEqual(sorted(rows.rows), expected(), 'the snapshot table itself is the source now');
  });

  for (const step of ['staged', 'recorded', 'swapped', 'cleaned', 'done'] as const) {
    it(`a crash after the step '${step}' leaves the old snapshot or the new one, and the current state exact`, async () => {
      await writeBatch(60, 2);
      const before = (await snapshot())!.location;
      await assert.rejects(
        materializer((at) => {
          if (at.step === step) throw new Crash(step);
        }).run([table], 200),
        Crash,
      );
      const recovered = await recoverMaterializations(w.store.dir, w.fs, w.catalog, logger);
      assert.equal(await recoverMaterializations(w.store.dir, w.fs, w.catalog, logger), 0, 'recovery leaves no record');
      const now = (await snapshot())!.location;
      if (step === 'staged') {
        assert.equal(recovered, 0);
        assert.equal(now, before, 'without a record the old snapshot stays');
      } else {
        assert.notEqual(now, before, 'with a record the new snapshot is swapped in');
        assert.equal(snapshotWatermark({ location: now }), BigInt(seq));
      }
      assert.deepEqual(await current(), expected());
      // The next run goes on from whichever snapshot is in place and clears what the crash left.
      await writeBatch(10, 3);
      await materializer().run([table], 201);
      assert.deepEqual(await current(), expected());
      assert.equal((await w.fs.list('/ods.db/orders_snapshot')).length, 2);
    });
  }

  it('never shows a concurrent SELECT a half-written snapshot: each answer is the source at some moment', async () => {
    const states = [JSON.stringify(expected())];
    let swapping = true;
    let queries = 0;
    const reader = (async () => {
      while (swapping) {
        const seen = JSON.stringify(await current());
        assert.ok(states.includes(seen), `query ${queries} saw a state the source never had`);
        queries++;
      }
    })();
    let swaps = 0;
    try {
      for (let round = 0; round < 8; round++) {
        await writeBatch(40, 1 + (round % 3));
        states.push(JSON.stringify(expected()));
        swaps += (await materializer().run([table], 400 + round)).length;
      }
    } finally {
      swapping = false;
      await reader;
    }
    assert.equal(swaps, 8);
    assert.ok(queries >= 8, `queries ran during the swaps (${queries})`);
  });

  it('leaves alone a table of the snapshot name that sluice did not make', async () => {
    const other = { ...table, name: 'plain', location: '/ods.db/plain', primaryKey: ['id'] };
    await w.catalog.createTable(other);
    await w.catalog.createTable({ ...other, name: 'plain_snapshot', location: '/elsewhere', partitionColumns: [] });
    assert.deepEqual(await materializer().run([other], 300), []);
    assert.equal((await w.catalog.getTable('ods', 'plain_snapshot'))!.location, '/elsewhere');
  });
});

describe('expiry of the changelog partitions a snapshot covers (retentionDays)', () => {
  it('drops covered partitions of days long enough ago, after the swap, and the current state stays exact', async () => {
    const { w, table, write } = await keyedNotes('sluice-materialize-expiry-');
    try {
      await write('2026-12-01', [['1', 'one', 'insert'], ['2', 'two', 'insert']]);
      await write('2026-12-05', [['1', 'one!', 'update'], ['3', 'three', 'insert']]);
      await write('2026-12-12', [['2', 'two', 'delete']]);
      const run = async (retentionDays: number, checkpoint: number) =>
        new Materializer({
          fs: w.fs,
          catalog: w.catalog,
          stateDir: w.store.dir,
          jobId: 'job',
          settings: { ...DEFAULT_MATERIALIZE, enabled: true, retentionDays },
          logger,
          now: () => Date.UTC(2026, 11, 13, 12),
        }).run([table], checkpoint);
      const current = async () => sorted((await queryWarehouse({ catalog: w.catalog, fs: w.fs, sql: 'SELECT id, note FROM ods.orders_current' })).rows);
      const partitions = async () => (await w.catalog.listPartitions('ods', 'orders')).map((partition) => partition.values.dt);
      // Off by default: nothing goes.
      assert.equal((await run(0, 1))[0]!.expired, undefined);
      assert.deepEqual(await partitions(), ['2026-12-01', '2026-12-05', '2026-12-12']);
      await write('2026-12-12', [['4', 'four', 'insert']]);
      // Five days: 12-01 and 12-05 ended more than five days before 12-13 12:00, 12-12 did not.
      const [figures] = await run(5, 2);
      assert.deepEqual(figures!.expired, ['dt=2026-12-01', 'dt=2026-12-05']);
      assert.deepEqual(await partitions(), ['2026-12-12']);
      assert.equal(await w.fs.status('/ods.db/orders/dt=2026-12-01'), undefined, 'the files of an expired partition are gone');
      assert.deepEqual(await current(), [['1', 'one!'], ['3', 'three'], ['4', 'four']]);
      // A late change into an expired day comes back as a partition of its own, above the watermark.
      await write('2026-12-01', [['3', 'three?', 'update']]);
      assert.deepEqual(await current(), [['1', 'one!'], ['3', 'three?'], ['4', 'four']]);
    } finally {
      await rm(w.dir, { recursive: true, force: true });
    }
  });
});

describe('sluice materialize', () => {
  it('folds now from the command line, then has nothing to do; --current reads the snapshot', async () => {
    const { w, write } = await keyedNotes('sluice-materialize-cli-');
    try {
      await write('2026-12-01', [['1', 'one', 'insert'], ['2', 'two', 'insert'], ['1', 'one!', 'update'], ['2', 'two', 'delete'], ['3', 'three', 'read']]);
      const config = join(w.dir, 'sluice.yaml');
      await writeFile(
        config,
        ['source:', '  host: 127.0.0.1', '  user: nobody', 'sink:', '  filesystem:', '    root: ./warehouse', '  catalog:', '    dir: ./catalog', 'checkpoint:', '  dir: ./state', ''].join('\n'),
      );
      const sluice = (...args: string[]) => spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), ...args, '--config', config], { encoding: 'utf8', timeout: 60_000 });
      const first = sluice('materialize');
      assert.equal(first.status, 0, first.stderr);
      assert.equal(first.stdout, 'ods.orders_snapshot: 2 rows up to _seq 5\n');
      const again = sluice('materialize', 'ods.orders');
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stdout, /nothing to materialize/);
      const unknown = sluice('materialize', 'ods.nope');
      assert.notEqual(unknown.status, 0);
      assert.match(unknown.stderr, /ods\.nope is not a table/);
      const current = sluice('query', '--json', '--current', 'ods.orders');
      assert.equal(current.status, 0, current.stderr);
      assert.deepEqual(current.stdout.trim().split('\n').map((line) => JSON.parse(line) as unknown), [{ id: '1', note: 'one!' }, { id: '3', note: 'three' }]);
      const snapshot = (await new LocalCatalog(join(w.dir, 'catalog')).getTable('ods', 'orders_snapshot'))!;
      assert.equal(snapshotWatermark(snapshot), 5n);
    } finally {
      await rm(w.dir, { recursive: true, force: true });
    }
  });
});

/** ods.orders (id, note) keyed by id, and a writer of one committed file of (id, note, op) changes per call, `_seq` numbered on. */
async function keyedNotes(prefix: string): Promise<{ w: LocalWarehouse; table: TableDefinition; write: (dt: string, rows: [string, string, string][]) => Promise<void> }> {
  const w = await localWarehouse(prefix, [
    { name: 'id', type: 'bigint' },
    { name: 'note', type: 'string' },
  ]);
  await w.catalog.setPrimaryKey('ods', 'orders', ['id']);
  const table = (await w.catalog.getTable('ods', 'orders'))!;
  const types = table.columns.map((column) => column.type);
  let seq = 0;
  const write = async (dt: string, rows: [string, string, string][]): Promise<void> => {
    const location = `${table.location}/dt=${dt}`;
    const lines = rows.map(([id, note, op]) => encodeRow([id, note, op, `${dt} 10:00:00`, `0-1-${++seq}`, String(seq), 'shop.orders'], types));
    await writeWholeFile(w.fs, `${location}/0.job.${seq}-0`, Buffer.concat(lines));
    await w.catalog.addPartition('ods', 'orders', { values: { dt }, location });
  };
  return { w, table, write };
}

function sorted(rows: (string | null)[][]): (string | null)[][] {
  return [...rows].sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1));
}
