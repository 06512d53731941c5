// The snapshot into Kafka (sink.kind kafka, snapshot.mode initial, docs/kafka.md): a table's existing
// rows go out as Debezium `r` messages (source.snapshot "true") before and among the live changes a
// writer makes all the while, and the daemon is killed with SIGKILL again and again during the
// snapshot. The snapshot's progress is part of the record committed in the same Kafka transaction as
// the rows it read, so a read_committed consumer sees, per key in partition order, a stream whose
// last message is the row as the source holds it at the end (or a delete), no key read twice, and an
// untouched row read once, as it was.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type mysql from 'mysql2/promise';
import { isJsonObject, parseExactJson, type JsonObject } from '../src/core/exact-json.ts';
import { prng } from './helpers/change-generator.ts';
import { gtidBinlogPos, makeWorkspace, startDaemon, stopDaemon, until, type RunningDaemon } from './helpers/daemon.ts';
import { kafkaSinkNames, kafkaSinkYaml, readCommitted, waitForKafkaCheckpoint } from './helpers/kafka-sink.ts';
import { testKafka, testMariaDb } from './helpers/servers.ts';
import { rowsRead, snapshotDone, snapshotState } from './helpers/snapshot-check.ts';

const ROWS_BEFORE = 6000;
const KILLS = 4;
const SEED = Number(process.env.SLUICE_CRASH_SEED ?? Date.now() % 1_000_000);

test(`binlog -> Kafka reads the existing rows first, as r messages, exactly once across ${KILLS} SIGKILLs during the snapshot (seed ${SEED})`, { timeout: 6 * 60_000 }, async (t) => {
  const server = await testMariaDb();
  const { brokers } = await testKafka();
  const tag = `bks${Date.now() % 1_000_000}`;
  const setup = await server.rootConnection();
  await setup.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.items (id INT PRIMARY KEY, v VARCHAR(20))`);
  await setup.end();
  const db = await server.rootConnection(tag);
  for (let first = 0; first < ROWS_BEFORE; first += 500) {
    await db.query('INSERT INTO items VALUES ?', [Array.from({ length: 500 }, (_, i) => [first + i, `before${first + i}`])]);
  }
  const names = kafkaSinkNames('bks');
  const workspace = makeWorkspace(server, {
    start: 'earliest',
    routing: `  include: ['${tag}.items']`,
    sinkExtra: kafkaSinkYaml(brokers, names),
    // Small chunks: the snapshot spans many checkpoints, so the kills land in the middle of it.
    extra: 'snapshot:\n  mode: initial\n  chunkRows: 20\n',
    intervalSeconds: 0.2,
  });

  const random = prng(SEED);
  const touched = new Set<number>();
  let nextNew = ROWS_BEFORE;
  let writing = true;
  const writer = (async () => {
    while (writing) {
      const roll = random();
      const id = Math.floor(random() * nextNew);
      if (roll < 0.3) await db.query('INSERT INTO items VALUES (?, ?)', [nextNew++, 'new']);
      else if (roll < 0.8) await db.query('UPDATE items SET v = ? WHERE id = ?', [`upd${Math.floor(random() * 1e9)}`, id]);
      else await db.query('DELETE FROM items WHERE id = ?', [id]);
      touched.add(id);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();

  let daemon: RunningDaemon | undefined;
  let kills = 0;
  try {
    while (kills < KILLS) {
      daemon = startDaemon(workspace, server);
      const before = rowsRead(await snapshotState(workspace));
      // Killed once the snapshot has moved on by a few chunks since this start, at a random moment after.
      const moved = async () => {
        const state = await snapshotState(workspace);
        return rowsRead(state) >= before + 100 || snapshotDone(state) ? state : undefined;
      };
      if (snapshotDone(await until('the snapshot moves on', daemon, moved, 120_000))) break;
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 200)));
      daemon.child.kill('SIGKILL');
      await new Promise((resolve) => daemon!.child.once('exit', resolve));
      kills += 1;
    }
    assert.ok(kills >= 2, `at least two kills landed during the snapshot (${kills})`);
    if (!daemon || daemon.child.exitCode !== null || daemon.child.signalCode !== null) daemon = startDaemon(workspace, server);
    await until('the snapshot is done', daemon, async () => (snapshotDone(await snapshotState(workspace)) ? true : undefined), 180_000);
    writing = false;
    await writer;
    await waitForKafkaCheckpoint(workspace, daemon, await gtidBinlogPos(server), 120_000);
    assert.deepEqual(await stopDaemon(daemon), { code: 0, signal: null });
  } finally {
    writing = false;
    await writer.catch(() => undefined);
    if (daemon && daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
  }

  const topic = `${names.prefix}.${tag}.items`;
  const messages = await readCommitted(brokers, [topic]);
  const latest = new Map<number, JsonObject | null>();
  const reads = new Map<number, number>();
  for (const message of messages) {
    if (message.value === null) continue; // a tombstone after a delete
    const value = parseExactJson(message.value);
    assert.ok(isJsonObject(value) && isJsonObject(value.source));
    const id = Number(JSON.parse(message.key!).id);
    const op = value.op;
    if (op === 'r') {
      assert.equal(value.source.snapshot, 'true', `a read of ${id} says it is the snapshot's`);
      reads.set(id, (reads.get(id) ?? 0) + 1);
    }
    latest.set(id, op === 'd' ? null : (value.after as JsonObject));
  }
  const [rows] = await db.query<mysql.RowDataPacket[]>('SELECT id, v FROM items ORDER BY id');
  await db.end();
  const source = new Map(rows.map((row) => [Number(row.id), String(row.v)]));
  for (const [id, count] of reads) assert.equal(count, 1, `key ${id} read once, not ${count} times`);
  for (const [id, v] of source) assert.equal(String(latest.get(id)?.v ?? '<none>'), v, `key ${id}: the last message holds the source's row`);
  for (const [id, after] of latest) if (after !== null) assert.ok(source.has(id), `key ${id} stands in Kafka and is gone at the source`);
  for (let id = 0; id < ROWS_BEFORE; id++) {
    if (!touched.has(id)) assert.equal(reads.get(id), 1, `untouched key ${id} is read once`);
  }
  t.diagnostic(`${kills} kills during the snapshot, ${messages.length} messages, ${[...reads.values()].length} rows read by the snapshot, ${touched.size} keys the writer touched, ${source.size} rows at the end`);
});
