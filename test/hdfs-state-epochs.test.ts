// HDFS has no conditional rename: an old ha.zookeeper leader paused between its epoch check and
// its rename can still put one late file in place after a new leader took over (docs/ha.md). For the
// schema history that late file must not win over the new leader's: each epoch writes its own file
// and a reader takes the highest epoch's. A late compaction intent is discarded by the next recovery
// instead of putting its merged file beside the new leader's. Against a real HDFS state store.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { readIntents, recoverCompactions, RECOVERED_EPOCH_FILE, writeIntent, type CompactionIntent } from '../src/checkpoint/compaction-intent.ts';
import { MATERIALIZATIONS_RECOVERED_FILE, recoverMaterializations, writeMaterializeIntent, type MaterializeIntent } from '../src/checkpoint/materialize-intent.ts';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { WebHdfsFileSystem } from '../src/filesystem/webhdfs-filesystem.ts';
import { fenceCatalogWrites, fenceRenames } from '../src/runtime/zookeeper-leadership.ts';
import { HdfsStateStore } from '../src/runtime/hdfs-state-store.ts';
import { SCHEMA_HISTORY_FILE, SchemaHistory, schemaHistoryFile } from '../src/sources/binlog/schema/schema-history.ts';
import { testHdfs } from './helpers/servers.ts';
import { writeWholeFile } from './helpers/whole-file.ts';

const at = (offset: number) => ({ file: 'm.000001', offset, gtidSet: `0-1-${offset}` });

describe('epoch-named state on a real HDFS (ha.zookeeper)', () => {
  let fs: WebHdfsFileSystem;
  let spoolDir: string;
  let namenode: string;
  const root = `/sluice-test/epochs-${randomUUID().slice(0, 8)}`;

  before(async () => {
    const hdfs = await testHdfs();
    spoolDir = mkdtempSync(join(tmpdir(), 'sluice-epochs-spool-'));
    namenode = `http://127.0.0.1:${hdfs.namenodeHttpPort}`;
    fs = new WebHdfsFileSystem({ namenodes: [namenode], logger: pino({ level: 'silent' }), spoolDir, requestTimeoutMs: 20_000 });
  });

  after(async () => {
    await fs.delete(root, true).catch(() => undefined);
    fs.close();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  test("an old leader's late schema history write does not replace the newer epoch's", async () => {
    const state = new HdfsStateStore({ fs, dir: `${root}/history` });

    // State from before ha.zookeeper: today's name, read as the lowest epoch.
    const legacy = await SchemaHistory.load(state);
    legacy.record({ table: 'db.t', from: at(100), state: 'dropped' });
    await legacy.save();
    assert.deepEqual(await state.list(), [SCHEMA_HISTORY_FILE]);

    // The leader of epoch 3 takes the old file over and writes its own; today's name goes once it is in place.
    const old = await SchemaHistory.load(state, 3);
    assert.ok(old.has('db.t'));
    old.record({ table: 'db.u', from: at(200), state: 'dropped' });
    await old.save();
    assert.deepEqual(await state.list(), [schemaHistoryFile(3)]);

    // Epoch 4 takes over and records a schema change.
    const leader = await SchemaHistory.load(state, 4);
    assert.deepEqual(leader.tables().sort(), ['db.t', 'db.u']);
    leader.record({ table: 'db.v', from: at(300), state: 'dropped' });
    await leader.save();
    assert.deepEqual(await state.list(), [schemaHistoryFile(4)]);

    // The paused old leader wakes and its rename lands late (its epoch check had passed before the pause).
    old.record({ table: 'db.w', from: at(400), state: 'dropped' });
    await old.save();

    // A reader (the next leader, or a restart without ha.zookeeper) takes epoch 4's history, not the late one.
    for (const reader of [await SchemaHistory.load(state, 5), await SchemaHistory.load(state)]) {
      assert.deepEqual(reader.tables().sort(), ['db.t', 'db.u', 'db.v']);
      assert.equal(reader.file, `${root}/history/${schemaHistoryFile(4)}`);
    }
    assert.deepEqual((await state.list()).sort(), [schemaHistoryFile(3), schemaHistoryFile(4)]);

    // Epoch 4's next save removes the late file.
    leader.record({ table: 'db.x', from: at(500), state: 'dropped' });
    await leader.save();
    assert.deepEqual(await state.list(), [schemaHistoryFile(4)]);

    // Without ha.zookeeper again: today's name, and the epoch files go once it is in place.
    const plain = await SchemaHistory.load(state);
    assert.deepEqual(plain.tables().sort(), ['db.t', 'db.u', 'db.v', 'db.x']);
    plain.record({ table: 'db.y', from: at(600), state: 'dropped' });
    await plain.save();
    assert.deepEqual(await state.list(), [SCHEMA_HISTORY_FILE]);
    assert.equal((await SchemaHistory.load(state)).size, 5);

    // The daemon passes no epoch: the history takes its leader's from the state store.
    const daemon = await SchemaHistory.load(new HdfsStateStore({ fs, dir: `${root}/history`, epoch: 6 }));
    daemon.record({ table: 'db.z', from: at(700), state: 'dropped' });
    await daemon.save();
    assert.deepEqual(await state.list(), [schemaHistoryFile(6)]);
  });

  test("an old leader's late compaction intent is discarded, not completed beside the new leader's compaction", async () => {
    const dir = `${root}/intents`;
    const part = `${root}/warehouse/t/dt=2026-12-01`;
    const staging = `${root}/warehouse/t/.data/compact/dt=2026-12-01`;
    const leaderOf = (epoch: number) => new HdfsStateStore({ fs, dir, epoch });
    const silent = pino({ level: 'silent' });
    const intent = (id: string, inputs: string[], output: string): CompactionIntent => ({
      format: 1, kind: 'compaction', id, createdAt: new Date().toISOString(), table: 'ods.t', partition: { dt: '2026-12-01' },
      inputs: inputs.map((name) => `${part}/${name}`), outputs: [{ from: `${staging}/${output}`, to: `${part}/${output}` }],
    });
    const files = async () => (await fs.list(part)).map((entry) => entry.path.slice(entry.path.lastIndexOf('/') + 1)).sort();
    for (const name of ['a', 'b', 'c', 'd']) await writeWholeFile(fs, `${part}/${name}`, `${name}\n`);

    // Epoch 3 recorded a compaction in time and died; epoch 4's recovery completes it.
    await writeWholeFile(fs, `${staging}/c.j3.1-0`, 'a\nb\n');
    await writeIntent(leaderOf(3), intent('j3.1-0', ['a', 'b'], 'c.j3.1-0'));
    assert.equal((await readIntents(leaderOf(4)))[0]!.epoch, 3);
    await recoverCompactions(leaderOf(4), fs, silent);
    assert.deepEqual(await files(), ['c', 'c.j3.1-0', 'd']);

    // Epoch 4 compacts c and d itself. The paused old leader's intent for the same files lands late,
    // its merged file still staged (the worst case: recovery's staging cleanup normally deleted it).
    await writeWholeFile(fs, `${part}/c.j4.2-0`, 'c\nd\n');
    await fs.delete(`${part}/c`, false);
    await fs.delete(`${part}/d`, false);
    await writeWholeFile(fs, `${staging}/c.j3.2-0`, 'c\nd\n');
    await writeIntent(leaderOf(3), intent('j3.2-0', ['c', 'd'], 'c.j3.2-0'));
    // And epoch 4 records one more compaction before it dies: that one is real.
    await writeWholeFile(fs, `${part}/e`, 'e\n');
    await writeWholeFile(fs, `${staging}/c.j4.3-0`, 'e\n');
    await writeIntent(leaderOf(4), intent('j4.3-0', ['e'], 'c.j4.3-0'));

    // Epoch 5 takes over: epoch 4's intent completed, the late one discarded, c and d once.
    await recoverCompactions(leaderOf(5), fs, silent);
    assert.deepEqual(await files(), ['c.j3.1-0', 'c.j4.2-0', 'c.j4.3-0']);
    assert.equal(await fs.status(`${staging}/c.j3.2-0`), undefined);
    assert.deepEqual(await readIntents(leaderOf(5)), []);
    assert.deepEqual(JSON.parse((await leaderOf(5).read(RECOVERED_EPOCH_FILE))!.toString('utf8')), { epoch: 5 });
  });

  test("an old leader's late materialization intent is discarded: the table is not swapped back to its older snapshot", async () => {
    const dir = `${root}/materialize`;
    const generations = `${root}/warehouse/ods.db/t_snapshot`;
    const catalog = new LocalCatalog(mkdtempSync(join(tmpdir(), 'sluice-epochs-catalog-')));
    const leaderOf = (epoch: number) => new HdfsStateStore({ fs, dir, epoch });
    const silent = pino({ level: 'silent' });
    const intent = (id: string, generation: string, previous?: string): MaterializeIntent => ({
      format: 1, kind: 'materialize', id, createdAt: new Date().toISOString(), table: 'ods.t', root: generations,
      snapshot: { database: 'ods', name: 't_snapshot', columns: [{ name: 'id', type: 'bigint' }], partitionColumns: [], format: 'text', location: `${generations}/${generation}` },
      ...(previous ? { previous: `${generations}/${previous}` } : {}),
    });
    const writeGeneration = (generation: string) => writeWholeFile(fs, `${generations}/${generation}/part-0`, '1\n');
    await writeGeneration('g-10-a');

    // Epoch 3 recorded a materialization in time and died; epoch 4's recovery swaps it in.
    await writeMaterializeIntent(leaderOf(3), intent('j3.1-0', 'g-10-a'));
    await recoverMaterializations(leaderOf(4), fs, catalog, silent);
    assert.equal((await catalog.getTable('ods', 't_snapshot'))?.location, `${generations}/g-10-a`);

    // Epoch 4 materializes again (g-20-b) and records it; the paused old leader's intent for an older
    // fold (g-15-c) lands late. Epoch 5 completes epoch 4's and discards the late one.
    await writeGeneration('g-20-b');
    await writeGeneration('g-15-c');
    await writeMaterializeIntent(leaderOf(4), intent('j4.2-0', 'g-20-b', 'g-10-a'));
    await writeMaterializeIntent(leaderOf(3), intent('j3.2-0', 'g-15-c', 'g-10-a'));
    await recoverMaterializations(leaderOf(5), fs, catalog, silent);
    assert.equal((await catalog.getTable('ods', 't_snapshot'))?.location, `${generations}/g-20-b`);
    assert.equal(await fs.status(`${generations}/g-15-c`), undefined, "the late intent's generation is deleted");
    assert.deepEqual((await leaderOf(5).list()).filter((name) => name.startsWith('materialize-')), []);
    assert.deepEqual(JSON.parse((await leaderOf(5).read(MATERIALIZATIONS_RECOVERED_FILE))!.toString('utf8')), { epoch: 5 });
  });

  test("a fenced leader's catalog writes and deletes are refused before they reach the catalog or HDFS", async () => {
    const catalog = new LocalCatalog(mkdtempSync(join(tmpdir(), 'sluice-epochs-catalog-')));
    const definition = { database: 'ods', name: 'u', columns: [{ name: 'id', type: 'bigint' }], partitionColumns: [], format: 'text' as const, location: `${root}/warehouse/ods.db/u` };
    await catalog.createTable(definition);
    const path = `${root}/fenced/file`;
    await writeWholeFile(fs, path, 'x\n');
    const fencedFs = new WebHdfsFileSystem({ namenodes: [namenode], logger: pino({ level: 'silent' }), spoolDir, requestTimeoutMs: 20_000 });
    const fenced = { check: async () => Promise.reject(new Error('fenced: another daemon leads')) };
    fenceCatalogWrites(catalog, fenced);
    fenceRenames(fencedFs, fenced);
    await assert.rejects(catalog.setLocation('ods', 'u', `${root}/elsewhere`), /fenced/);
    await assert.rejects(catalog.addColumns('ods', 'u', [{ name: 'v', type: 'string' }]), /fenced/);
    await assert.rejects(fencedFs.delete(path, false), /fenced/);
    assert.deepEqual(await catalog.getTable('ods', 'u'), definition);
    assert.ok(await fs.status(path), 'the file is still there');
    fencedFs.close();
  });
});
