// binlog -> Kafka (sink.kind kafka): topics by template and routing rule, messages keyed by the
// primary key in Debezium's envelope, every operation (an update of the key as delete + create, a
// truncate to every partition), a DDL on the schema change topic, values exact for a range of types,
// read back by a read_committed consumer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJsonObject, JsonNumber, parseExactJson, type JsonObject, type JsonValue } from '../src/core/exact-json.ts';
import { exitWithin, fatalLine, gtidBinlogPos, makeWorkspace, metricsPort, startDaemon, stopDaemon, until } from './helpers/daemon.ts';
import { kafkaSinkNames, kafkaSinkYaml, readCommitted, waitForKafkaCheckpoint, type ReadMessage } from './helpers/kafka-sink.ts';
import { committedRows, kafkaWorkspace, startKafkaDaemon, waitForOffsets } from './helpers/kafka.ts';
import { testKafka, testMariaDb } from './helpers/servers.ts';
import { bySequence } from './helpers/warehouse.ts';

/** A JSON value with numbers as their exact text, for deepEqual. */
function plain(value: JsonValue): unknown {
  if (value instanceof JsonNumber) return { number: value.text };
  if (Array.isArray(value)) return value.map(plain);
  if (isJsonObject(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plain(item)]));
  return value;
}

function envelope(message: ReadMessage): JsonObject {
  assert.ok(message.value !== null, `a value at ${message.topic}-${message.partition}@${message.offset}`);
  const value = parseExactJson(message.value);
  assert.ok(isJsonObject(value));
  return value;
}

const n = (text: string) => ({ number: text });

test('binlog changes reach Kafka keyed, in the Debezium envelope, with exact values and every operation', { timeout: 240_000 }, async () => {
  const server = await testMariaDb();
  const { brokers } = await testKafka();
  const tag = `bk${Date.now() % 1_000_000}`;
  const setup = await server.rootConnection();
  await setup.query(
    `CREATE DATABASE ${tag}; ` +
      `CREATE TABLE ${tag}.items (id BIGINT UNSIGNED PRIMARY KEY, d DECIMAL(30,10), dt DATETIME(6), ts TIMESTAMP(3) NULL, dd DATE, tm TIME(6), ` +
      `f DOUBLE, b VARBINARY(16), j JSON, s VARCHAR(50) CHARACTER SET utf8mb4, y YEAR, i INT); ` +
      `CREATE TABLE ${tag}.pairs (a INT, b VARCHAR(10), v INT, PRIMARY KEY (a, b)); ` +
      `CREATE TABLE ${tag}.nokey (v INT); CREATE TABLE ${tag}.skipped (v INT); CREATE TABLE ${tag}.bulk (id INT PRIMARY KEY, pad VARCHAR(1000))`,
  );
  await setup.end();
  const start = await gtidBinlogPos(server);
  const names = kafkaSinkNames('bk');
  const workspace = makeWorkspace(server, {
    start: `{ gtid: '${start}' }`,
    // items, pairs and nokey to ods_<tag>.<table>; skipped is not captured.
    routing: `  include: ['${tag}.items', '${tag}.pairs', '${tag}.nokey', '${tag}.bulk']\n  rules:\n    - match: '^${tag}\\.(\\w+)$'\n      target: ods_${tag}.$1`,
    sinkExtra: kafkaSinkYaml(brokers, names, '    partitions: 2\n'),
  });
  const db = await server.rootConnection(tag);
  await db.query(
    `INSERT INTO items VALUES (18446744073709551615, '12345678901234567890.0123456789', '2024-02-29 23:59:59.123456', '2001-02-03 04:05:06.789', ` +
      `'1000-01-01', '-838:59:59.000000', 1.5e300, x'00ff10', '{"a": 12345678901234567890}', 'héllo ✓', 2155, -2147483648)`,
  );
  await db.query("INSERT INTO items (id, d, i) VALUES (2, -0.5, 7)");
  await db.query('UPDATE items SET i = 8 WHERE id = 2');
  await db.query('UPDATE items SET id = 3 WHERE id = 2');
  await db.query('DELETE FROM items WHERE id = 3');
  await db.query("INSERT INTO pairs VALUES (1, 'x', 1), (1, 'y', 1), (2, 'x', 1)");
  await db.query("UPDATE pairs SET v = 2 WHERE a = 1 AND b = 'x'");
  await db.query('INSERT INTO nokey VALUES (7), (8)');
  await db.query('INSERT INTO skipped VALUES (9)');
  // 3 MB in one transaction: more than a broker takes in one record batch (message.max.bytes, 1 MiB).
  await db.query("INSERT INTO bulk SELECT seq, REPEAT('x', 1000) FROM seq_1_to_3000");
  await db.query('ALTER TABLE items ADD COLUMN extra VARCHAR(5)');
  await db.query("INSERT INTO items (id, extra) VALUES (4, 'e')");
  await db.query('TRUNCATE TABLE pairs');
  await db.end();
  const end = await gtidBinlogPos(server);

  const daemon = startDaemon(workspace, server);
  try {
    await waitForKafkaCheckpoint(workspace, daemon, end);
    // /status shows the binlog position the Kafka transactions have committed up to.
    const port = await metricsPort(daemon);
    await until('/status at the end', daemon, async () => {
      const report = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { source?: { kind: string }; position?: string };
      return (report.source?.kind === 'mariadb' && report.position?.includes(end)) || undefined;
    });
  } finally {
    assert.equal((await stopDaemon(daemon)).code, 0, daemon.output().slice(-3000));
  }

  const topic = (table: string) => `${names.prefix}.ods_${tag}.${table}`;
  const messages = await readCommitted(brokers, [topic('items'), topic('pairs'), topic('nokey'), topic('bulk'), names.prefix]);
  const of = (name: string) => messages.filter((message) => message.topic === name);

  // items: keyed by id, one partition per key, in order; the key change is delete + tombstone + create.
  const items = of(topic('items'));
  const keysInPartitions = new Map<string, Set<number>>();
  for (const message of items) keysInPartitions.set(message.key!, (keysInPartitions.get(message.key!) ?? new Set()).add(message.partition));
  for (const [key, partitions] of keysInPartitions) assert.equal(partitions.size, 1, `${key}'s messages stay in one partition`);
  const byKey = (key: string) =>
    items.filter((message) => message.key === key).map((message) => (message.value === null ? 'tombstone' : (envelope(message).op as string)));
  assert.deepEqual(byKey('{"id":18446744073709551615}'), ['c']);
  assert.deepEqual(byKey('{"id":2}'), ['c', 'u', 'd', 'tombstone']);
  assert.deepEqual(byKey('{"id":3}'), ['c', 'd', 'tombstone']);
  assert.deepEqual(byKey('{"id":4}'), ['c']);

  const first = envelope(items.find((message) => message.key === '{"id":18446744073709551615}')!);
  assert.equal(first.before, null);
  assert.deepEqual(plain(first.after!), {
    id: n('18446744073709551615'),
    d: '12345678901234567890.0123456789',
    dt: '2024-02-29 23:59:59.123456',
    ts: '2001-02-03 04:05:06.789',
    dd: '1000-01-01',
    tm: '-838:59:59.000000',
    f: n('1.5e+300'),
    b: Buffer.from([0x00, 0xff, 0x10]).toString('base64'),
    j: '{"a": 12345678901234567890}',
    s: 'héllo ✓',
    y: n('2155'),
    i: n('-2147483648'),
  });
  const source = plain(first.source!) as Record<string, unknown>;
  assert.equal(source.connector, 'mysql');
  assert.equal(source.name, names.prefix);
  assert.equal(source.db, tag);
  assert.equal(source.table, 'items');
  assert.equal(source.snapshot, 'false');
  assert.match(String(source.gtid), /^0-1-\d+$/);
  assert.match(String(source.file), /\.\d{6}$/);
  assert.ok(typeof (source.pos as { number: string }).number === 'string');
  assert.ok(first.ts_ms instanceof JsonNumber);

  const update = envelope(items.find((message) => message.key === '{"id":2}' && message.value !== null && envelope(message).op === 'u')!);
  assert.deepEqual([plain(update.before!), plain(update.after!)].map((row) => (row as Record<string, unknown>).i), [n('7'), n('8')]);
  assert.equal((plain(update.before!) as Record<string, unknown>).d, '-0.5000000000');
  const deleted = envelope(items.find((message) => message.key === '{"id":3}' && message.value !== null && envelope(message).op === 'd')!);
  assert.equal(deleted.after, null);
  assert.deepEqual((plain(deleted.before!) as Record<string, unknown>).id, n('3'));
  const added = envelope(items.find((message) => message.key === '{"id":4}')!);
  assert.equal((added.after as JsonObject).extra, 'e', 'the column added since is in the image');

  // pairs: a composite key; the truncate is the last message of every partition.
  const pairs = of(topic('pairs'));
  const pairOps = (key: string) => pairs.filter((message) => message.key === key).map((message) => envelope(message).op);
  assert.deepEqual(pairOps('{"a":1,"b":"x"}'), ['c', 'u']);
  assert.deepEqual(pairOps('{"a":1,"b":"y"}'), ['c']);
  assert.deepEqual(pairOps('{"a":2,"b":"x"}'), ['c']);
  for (const partition of [0, 1]) {
    const last = pairs.filter((message) => message.partition === partition).at(-1);
    assert.ok(last, `partition ${partition} of pairs has messages`);
    assert.equal(last.key, null);
    assert.equal(envelope(last).op, 't');
    assert.equal(envelope(last).before, null);
  }

  // nokey: no key, every change in partition 0, in order.
  const nokey = of(topic('nokey'));
  assert.deepEqual(
    nokey.map((message) => [message.key, message.partition, (plain(envelope(message).after!) as Record<string, unknown>).v]),
    [
      [null, 0, n('7')],
      [null, 0, n('8')],
    ],
  );

  const bulk = of(topic('bulk'));
  assert.equal(new Set(bulk.map((message) => message.key)).size, 3000, 'every row of the large transaction, once');
  assert.equal(bulk.length, 3000);

  // The DDL reaches the schema change topic (named by the prefix), with its position.
  const ddl = of(names.prefix)
    .map(envelope)
    .find((value) => String(value.ddl).includes('ADD COLUMN extra'));
  assert.ok(ddl, `the ALTER on ${names.prefix}: ${JSON.stringify(of(names.prefix).map((message) => message.value))}`);
  assert.equal(ddl.databaseName, tag);
  assert.match(String((ddl.source as JsonObject).gtid), /^0-1-\d+$/);
  assert.ok(!messages.some((message) => message.value?.includes('"skipped"')), 'a table not captured has no messages');
});

test('a change of an XA transaction stops the Kafka sink by name, and none of its rows reach Kafka', { timeout: 120_000 }, async () => {
  const server = await testMariaDb();
  const { brokers } = await testKafka();
  const tag = `bx${Date.now() % 1_000_000}`;
  const db = await server.rootConnection();
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t (id INT PRIMARY KEY)`);
  const start = await gtidBinlogPos(server);
  await db.query(`INSERT INTO ${tag}.t VALUES (1)`);
  await db.query(`XA START 'x1'`);
  await db.query(`INSERT INTO ${tag}.t VALUES (2)`);
  await db.query(`XA END 'x1'`);
  await db.query(`XA PREPARE 'x1'`);
  await db.query(`XA ROLLBACK 'x1'`);
  await db.end();
  const names = kafkaSinkNames('bx');
  const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']`, sinkExtra: kafkaSinkYaml(brokers, names) });
  const daemon = startDaemon(workspace, server);
  assert.equal(await exitWithin(daemon, 60_000, 'an XA change stops it'), 1);
  const fatal = fatalLine(daemon);
  assert.equal(fatal.code, 'SLUICE_KAFKA');
  assert.match(fatal.msg, new RegExp(`${tag}\\.t at .*XA transaction`));
  const rows = await readCommitted(brokers, [`${names.prefix}.${tag}.t`]);
  // The insert before it is committed or not, as the checkpoints fell (it is read again on the next start); the prepared row never.
  assert.ok(!rows.some((message) => message.key === '{"id":2}'), 'the prepared row is not in Kafka');
});

test("sluice's own Kafka source reads the sink's messages back into Hive (debezium-json with the topic's columns)", { timeout: 180_000 }, async () => {
  const server = await testMariaDb();
  const { brokers } = await testKafka();
  const tag = `br${Date.now() % 1_000_000}`;
  const db = await server.rootConnection();
  await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t (id BIGINT PRIMARY KEY, d DECIMAL(12,3), at DATETIME(6), s VARCHAR(20))`);
  const start = await gtidBinlogPos(server);
  await db.query(`INSERT INTO ${tag}.t VALUES (9007199254740993, '123456789.125', '2024-01-02 03:04:05.123456', 'é'), (2, NULL, NULL, NULL)`);
  await db.query(`UPDATE ${tag}.t SET s = 'two' WHERE id = 2`);
  await db.query(`DELETE FROM ${tag}.t WHERE id = 2`);
  await db.query(`TRUNCATE TABLE ${tag}.t`);
  await db.end();
  const end = await gtidBinlogPos(server);
  const names = kafkaSinkNames('br');
  const capture = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']`, sinkExtra: kafkaSinkYaml(brokers, names) });
  const writer = startDaemon(capture, server);
  try {
    await waitForKafkaCheckpoint(capture, writer, end);
  } finally {
    assert.equal((await stopDaemon(writer)).code, 0, writer.output().slice(-3000));
  }
  const topic = `${names.prefix}.${tag}.t`;
  const written = await readCommitted(brokers, [topic]);

  const loader = kafkaWorkspace(
    brokers,
    `    - name: ${topic}
      format: debezium-json
      columns: { ${tag}.t: { id: bigint, d: 'decimal(12,3)', at: 'datetime(6)', s: varchar(20) } }`,
  );
  const daemon = startKafkaDaemon(loader);
  try {
    await waitForOffsets(loader, daemon, { [`${topic}:0`]: written.at(-1)!.offset + 1 });
  } finally {
    assert.equal((await stopDaemon(daemon)).code, 0, daemon.output().slice(-3000));
  }
  const rows = bySequence(await committedRows(loader, tag, 't'));
  assert.deepEqual(
    rows.map((row) => [row._op, row.id, row.d, row.at, row.s, row._source].map((value) => (value === null || value === undefined ? null : String(value)))),
    [
      ['insert', '9007199254740993', '123456789.125', '2024-01-02 03:04:05.123456', 'é', `${tag}.t`],
      ['insert', '2', null, null, null, `${tag}.t`],
      ['update', '2', null, null, 'two', `${tag}.t`],
      ['delete', '2', null, null, 'two', `${tag}.t`],
      ['truncate', null, null, null, null, `${tag}.t`],
    ],
  );
});
