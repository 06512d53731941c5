// binlog -> Kafka across kill -9: a writer runs on MariaDB (inserts, updates, deletes, schema changes,
// truncates and a large transaction) while the daemon is killed with SIGKILL at random moments, half
// of the kills the instant a checkpoint is committed in Kafka (its local mirror record lands). At the
// end a read_committed consumer must see every change exactly once, and each partition must hold
// exactly its keys' changes in commit order (a truncate in every partition, where it came).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { test } from 'node:test';
import { isJsonObject, JsonNumber, parseExactJson, type JsonObject, type JsonValue } from '../src/core/exact-json.ts';
import { ChangeGenerator, prng, type ExpectedChange } from './helpers/change-generator.ts';
import { killWhenRecordLands } from './helpers/crash-scenario.ts';
import { gtidBinlogPos, makeWorkspace, startDaemon, stopDaemon } from './helpers/daemon.ts';
import { kafkaSinkNames, kafkaSinkYaml, readCommitted, waitForKafkaCheckpoint, type ReadMessage } from './helpers/kafka-sink.ts';
import { testKafka, testMariaDb } from './helpers/servers.ts';

const KILLS = 6;
const SEED = 4242;
const PARTITIONS = 3;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A message as compared: op and the row image (cells as text, binary as base64), or a tombstone. */
type Compared = { op: string; row: Record<string, string | null> } | 'tombstone';

function cellText(value: JsonValue | Buffer | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (value instanceof JsonNumber) return value.text;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function comparedMessage(message: ReadMessage): Compared {
  if (message.value === null) return 'tombstone';
  const value = parseExactJson(message.value);
  assert.ok(isJsonObject(value));
  const op = String(value.op);
  const image = (op === 'd' ? value.before : value.after) as JsonObject | null;
  return { op, row: Object.fromEntries(Object.entries(image ?? {}).map(([name, cell]) => [name, cellText(cell)])) };
}

const OPS = { insert: 'c', update: 'u', delete: 'd', truncate: 't' } as const;

/** What the binlog must bring of one change: its messages (a delete's tombstone after it). */
function expectedMessages(change: ExpectedChange): Compared[] {
  const row = Object.fromEntries(Object.entries(change.row).map(([name, value]) => [name, cellText(value)]));
  const message: Compared = { op: OPS[change.op], row: change.op === 'truncate' ? {} : row };
  return change.op === 'delete' ? [message, 'tombstone'] : [message];
}

test('binlog -> Kafka: every change exactly once and in order per partition across kill -9', { timeout: 600_000 }, async () => {
  const server = await testMariaDb();
  const { brokers } = await testKafka();
  const tag = `kc${SEED}${Date.now() % 10_000}`;
  const tables = [`${tag}_shop_1.orders`, `${tag}_shop_2.orders`];
  const connection = await server.rootConnection();
  await ChangeGenerator.createTables(connection, tables);
  const start = await gtidBinlogPos(server);
  const names = kafkaSinkNames('kc');
  const workspace = makeWorkspace(server, {
    start: `{ gtid: '${start}' }`,
    routing: `  include: ['${tag}_shop_*.*']`,
    intervalSeconds: 0.3,
    sinkExtra: kafkaSinkYaml(brokers, names, `    partitions: ${PARTITIONS}\n`),
  });
  mkdirSync(workspace.stateDir, { recursive: true });
  const generator = new ChangeGenerator(connection, tables, SEED, { schemaChangeRate: 0.02, tableResetRate: 0.01, openConnection: () => server.rootConnection() });
  let generating = true;
  let transactions = 0;
  const writer = (async () => {
    while (generating) {
      await generator.randomChange();
      if (++transactions === 100) await generator.largeTransaction(3000);
      await sleep(3);
    }
  })();

  const random = prng(SEED);
  let killsAtCommit = 0;
  try {
    for (let kill = 0; kill < KILLS; kill++) {
      const daemon = startDaemon(workspace, server);
      // Every other kill the instant a checkpoint's Kafka transaction is committed and its mirror lands; the others at random.
      if (kill % 2 === 1 && (await killWhenRecordLands(workspace, daemon, 15_000))) killsAtCommit++;
      else await sleep(1500 + random() * 2500);
      daemon.child.kill('SIGKILL');
      const exit = await daemon.exited;
      assert.equal(exit.signal, 'SIGKILL', `the daemon died on its own before kill ${kill}:\n${daemon.output().slice(-3000)}`);
    }
  } finally {
    generating = false;
    await writer;
  }
  await generator.close();
  const end = await gtidBinlogPos(server);
  const last = startDaemon(workspace, server);
  try {
    await waitForKafkaCheckpoint(workspace, last, end, 180_000);
  } finally {
    assert.equal((await stopDaemon(last)).code, 0, last.output().slice(-3000));
  }

  const topicOf = (table: string) => `${names.prefix}.${table}`;
  const messages = await readCommitted(brokers, tables.map(topicOf));
  console.log(
    `binlog -> Kafka crash test: ${KILLS} kills (${killsAtCommit} at a commit), ${transactions} transactions, ${generator.schemaChanges.length} schema changes, ` +
      `${generator.tableResets.length} truncates, ${generator.log.length} changes expected, ${messages.length} messages read`,
  );
  assert.ok(killsAtCommit >= 1, 'at least one kill right at a commit');
  for (const table of tables) {
    const topic = topicOf(table);
    const read = messages.filter((message) => message.topic === topic);
    // Each key in one partition: where the partitioner put it.
    const partitionOfKey = new Map<string, number>();
    for (const message of read) {
      if (message.key === null) continue;
      const seen = partitionOfKey.get(message.key);
      assert.ok(seen === undefined || seen === message.partition, `${topic}: key ${message.key} in partitions ${seen} and ${message.partition}`);
      partitionOfKey.set(message.key, message.partition);
    }
    const changes = generator.log.filter((change) => change.source === table);
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const expected = changes
        .filter((change) => change.op === 'truncate' || partitionOfKey.get(JSON.stringify({ id: Number(change.row.id) })) === partition)
        .flatMap(expectedMessages);
      const actual = read.filter((message) => message.partition === partition).map(comparedMessage);
      assert.deepEqual(actual, expected, `${topic} partition ${partition}: every change once, in commit order`);
    }
    // Every key the writer touched has its messages somewhere (a key missing from every partition would pass above).
    const keys = new Set(changes.filter((change) => change.op !== 'truncate').map((change) => JSON.stringify({ id: Number(change.row.id) })));
    assert.deepEqual([...keys].filter((key) => !partitionOfKey.has(key)), [], `${topic}: no key is missing`);
  }
});
