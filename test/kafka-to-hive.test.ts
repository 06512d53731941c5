// Kafka -> Hive end to end: the daemon reads one topic per format (fixtures written from each tool's
// documented examples, test/fixtures/kafka/) into the embedded warehouse, and each changelog table
// holds exactly the changes, typed, with `_source` the envelope's db.table and `_position`
// topic-partition:offset. Messages that are not JSON or not of their format go to the dead letters.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { exitWithin, fatalLine, metricsPort, stopDaemon, until } from './helpers/daemon.ts';
import { committedRows, connectProducer, createTopic, kafkaWorkspace, startKafkaDaemon, waitForOffsets } from './helpers/kafka.ts';
import { REPO_ROOT, testKafka } from './helpers/servers.ts';
import { runQueryCli } from './helpers/query-cli.ts';
import type { MariaDbServer } from './servers/mariadb.ts';
import { bySequence } from './helpers/warehouse.ts';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';

const fixture = (name: string): string[] => readFileSync(join(REPO_ROOT, 'test/fixtures/kafka', name), 'utf8').trim().split('\n');

const pick = (rows: Record<string, unknown>[], columns: string[]): unknown[][] => bySequence(rows as never).map((row) => columns.map((column) => row[column] ?? null));

test('each format lands in its changelog table exactly, and bad messages go to the dead letters', async () => {
  const { brokers } = await testKafka();
  const topics = {
    envelope: await createTopic(brokers, 'dbz-envelope'),
    plain: await createTopic(brokers, 'dbz-plain'),
    canal: await createTopic(brokers, 'canal'),
    maxwell: await createTopic(brokers, 'maxwell'),
    goldengate: await createTopic(brokers, 'goldengate'),
  };
  const producer = await connectProducer(brokers);
  const send = async (topic: string, values: (string | null)[]): Promise<void> => {
    for (const value of values) await producer.send({ topic, messages: [{ value }] });
  };
  await send(topics.envelope, [...fixture('debezium-envelope.jsonl'), null]);
  await send(topics.plain, fixture('debezium-plain.jsonl'));
  await send(topics.canal, fixture('canal-flat.jsonl'));
  // The middle two are dead letters: not JSON, and a Maxwell message without its table.
  const maxwell = fixture('maxwell.jsonl');
  await send(topics.maxwell, [maxwell[0]!, '{"database": "test", "table": ', '{"database":"test","type":"insert","ts":1,"data":{"id":9}}', ...maxwell.slice(1)]);
  await send(topics.goldengate, fixture('goldengate.jsonl'));
  await producer.disconnect();

  const workspace = kafkaWorkspace(
    brokers,
    `    - { name: ${topics.envelope}, format: debezium-json }
    - name: ${topics.plain}
      format: debezium-json
      columns: { inventory.customers: { id: int, first_name: varchar(255), last_name: varchar(255), email: varchar(255) } }
    - { name: ${topics.canal}, format: canal-json }
    - name: ${topics.maxwell}
      format: maxwell-json
      columns: { test.maxwell: { id: bigint, daemon: text } }
    - name: ${topics.goldengate}
      format: goldengate-json
      columns: { QASOURCE.TCUSTORD: { CUST_CODE: varchar(4), ORDER_DATE: varchar(32), PRODUCT_CODE: varchar(10), ORDER_ID: int, PRODUCT_PRICE: 'decimal(8,2)', PRODUCT_AMOUNT: int, TRANSACTION_ID: int } }`,
    {
      routing: `  rules:
    - { match: '^inventory\\.customers$', target: 'ods.customers' }
    - { match: '^(shop|test|QASOURCE)\\.(.*)$', target: 'ods.$2' }`,
    },
  );
  // The Debezium topics both feed ods.customers: the plain one is routed to a table of its own.
  const daemon = startKafkaDaemon(workspace);
  try {
    await waitForOffsets(workspace, daemon, {
      [`${topics.envelope}:0`]: 5,
      [`${topics.plain}:0`]: 5,
      [`${topics.canal}:0`]: 4,
      [`${topics.maxwell}:0`]: 6,
      [`${topics.goldengate}:0`]: 3,
    });
    const port = await metricsPort(daemon);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    // The record lands before the loop counts the checkpoint as its own: /status follows a moment later.
    const status = await until('/status at the checkpoint', daemon, async () => {
      const report = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { source: { kind: string }; position: string };
      return report.position.includes(`${topics.goldengate}:0@3`) ? report : undefined;
    });
    assert.equal(status.source.kind, 'kafka');
    assert.match(metrics, new RegExp(`^sluice_kafka_dead_letters_total\\{topic="${topics.maxwell}"\\} 2$`, 'm'));
  } finally {
    assert.deepEqual(await stopDaemon(daemon), { code: 0, signal: null }, 'SIGTERM: a final checkpoint, exit 0');
  }

  const customers = await committedRows(workspace, 'ods', 'customers');
  assert.deepEqual(
    pick(customers.filter((row) => String(row._position).startsWith(topics.envelope)), ['_op', 'id', 'first_name', 'balance', 'updated_at', 'birth_date', '_source', '_position', '_event_time']),
    [
      ['read', '1001', 'Sally', '1234.50', '2023-11-14 22:13:20.123456', '1990-01-01', 'inventory.customers', `${topics.envelope}-0:0`, '2017-02-07 20:49:30'],
      ['insert', '1004', 'Anne', '-0.05', '2017-02-07 20:49:37.000000', null, 'inventory.customers', `${topics.envelope}-0:1`, '2017-02-07 20:49:37'],
      ['update', '1004', 'Anne Marie', '-0.05', '2017-02-07 20:49:37.000000', null, 'inventory.customers', `${topics.envelope}-0:2`, '2017-02-07 20:49:38'],
      ['delete', '1004', 'Anne Marie', '-0.05', '2017-02-07 20:49:37.000000', null, 'inventory.customers', `${topics.envelope}-0:3`, '2017-02-07 20:49:39'],
    ],
  );
  assert.deepEqual(
    pick(customers.filter((row) => String(row._position).startsWith(topics.plain)), ['_op', 'id', 'first_name', 'email', 'balance']),
    [
      ['read', '1001', 'Sally', 'sally.thomas@acme.com', null],
      ['insert', '1004', 'Anne', 'annek@noanswer.org', null],
      ['update', '1004', 'Anne Marie', 'annek@noanswer.org', null],
      ['delete', '1004', 'Anne Marie', 'annek@noanswer.org', null],
      ['truncate', null, null, null, null],
    ],
  );
  assert.deepEqual(pick(await committedRows(workspace, 'ods', 'fruit'), ['_op', 'id', 'name', 'price', 'created', '_source']), [
    ['insert', '1', 'apple', '3.50', '2020-05-13 10:38:35', 'shop.fruit'],
    ['insert', '2', 'pear', '12.00', '2020-05-13 10:38:35', 'shop.fruit'],
    ['update', '1', 'green apple', '3.50', '2020-05-13 10:38:35', 'shop.fruit'],
    ['delete', '2', 'pear', '12.00', '2020-05-13 10:38:35', 'shop.fruit'],
  ]);
  // `sluice query` reads a Kafka loader's config too: the latest state of each key of the canal table.
  const query = await runQueryCli(workspace, { password: '' } as MariaDbServer, 'SELECT id, name FROM ods.fruit_current ORDER BY id', {}, ['--key', 'id']);
  assert.deepEqual(query, [{ id: '1', name: 'green apple' }]);
  assert.deepEqual(pick(await committedRows(workspace, 'ods', 'maxwell'), ['_op', 'id', 'daemon', '_source', '_position']), [
    ['insert', '1', 'Stanislaw Lem', 'test.maxwell', `${topics.maxwell}-0:0`],
    ['update', '1', 'Firebus!  Firebus!', 'test.maxwell', `${topics.maxwell}-0:3`],
    ['delete', '1', 'Firebus!  Firebus!', 'test.maxwell', `${topics.maxwell}-0:5`],
  ]);
  assert.deepEqual(pick(await committedRows(workspace, 'ods', 'tcustord'), ['_op', 'order_id', 'product_price', 'cust_code', '_source', '_event_time']), [
    ['insert', '144', '17520.00', 'WILL', 'QASOURCE.TCUSTORD', '2015-11-05 18:45:36'],
    ['update', '144', '14000.00', 'WILL', 'QASOURCE.TCUSTORD', '2015-11-05 18:45:39'],
    ['delete', '144', '14000.00', 'WILL', 'QASOURCE.TCUSTORD', '2015-11-05 18:45:39'],
  ]);
  const letters = readFileSync(workspace.deadLetterFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(
    letters.map((letter) => [letter.topic, letter.partition, letter.offset]),
    [
      [topics.maxwell, 0, '1'],
      [topics.maxwell, 0, '2'],
    ],
  );
  assert.match(String(letters[0]!.reason), /^not JSON/);
  assert.equal(letters[0]!.value, '{"database": "test", "table": ');
  assert.match(String(letters[1]!.reason), /table is missing/);
});

test("without types in the message or the config, the target table's columns type the values; one that does not fit stops the daemon with SLUICE_KAFKA_VALUE", async () => {
  const { brokers } = await testKafka();
  const canal = await createTopic(brokers, 'typed');
  const maxwell = await createTopic(brokers, 'untyped');
  const producer = await connectProducer(brokers);
  const send = (topic: string, value: unknown) => producer.send({ topic, messages: [{ value: JSON.stringify(value) }] });
  await send(canal, { data: [{ id: '1', name: 'one' }], database: 'shop', table: 'items', es: 1764892800000, isDdl: false, mysqlType: { id: 'int', name: 'varchar(16)' }, old: null, type: 'INSERT' });
  const workspace = kafkaWorkspace(brokers, `    - { name: ${canal}, format: canal-json }\n    - { name: ${maxwell}, format: maxwell-json }`, {
    routing: "  rules:\n    - { match: '^(shop|test)\\.items$', target: 'ods.items' }",
  });
  let daemon = startKafkaDaemon(workspace);
  try {
    await waitForOffsets(workspace, daemon, { [`${canal}:0`]: 1 });
    // Maxwell states no types and the topic lists none: ods.items, created from the canal row, types them.
    await send(maxwell, { database: 'test', table: 'items', type: 'insert', ts: 1764892801, data: { id: 2, name: 'two' } });
    await waitForOffsets(workspace, daemon, { [`${maxwell}:0`]: 1 });
    await send(maxwell, { database: 'test', table: 'items', type: 'insert', ts: 1764892802, data: { id: 'three', name: 'three' } });
    assert.equal(await exitWithin(daemon, 60_000), 78, daemon.output().slice(-3000));
    const fatal = fatalLine(daemon);
    assert.equal(fatal.code, 'SLUICE_KAFKA_VALUE');
    assert.match(fatal.msg, new RegExp(`${maxwell}-0@1: column id of test\\.items: "three" does not fit int`));
    // Nothing is stepped over: the next start meets the same message again.
    daemon = startKafkaDaemon(workspace);
    assert.equal(await exitWithin(daemon, 60_000), 78, daemon.output().slice(-3000));
    assert.match(fatalLine(daemon).msg, new RegExp(`${maxwell}-0@1: column id`));
  } finally {
    await producer.disconnect();
    if (daemon.child.exitCode === null) await stopDaemon(daemon);
  }
  assert.deepEqual(pick(await committedRows(workspace, 'ods', 'items'), ['_op', 'id', 'name', '_source']), [
    ['insert', '1', 'one', 'shop.items'],
    ['insert', '2', 'two', 'test.items'],
  ]);
});

test('a second loader in the same consumer group is refused by name, rather than reading partitions the first has recorded', async () => {
  const { brokers } = await testKafka();
  const topic = await createTopic(brokers, 'shared', 2);
  const topics = `    - { name: ${topic}, format: canal-json }`;
  const first = kafkaWorkspace(brokers, topics);
  const second = kafkaWorkspace(brokers, topics);
  // The same group for both: the second workspace's config names the first's.
  const group = /groupId: (\S+)/.exec(readFileSync(first.configFile, 'utf8'))![1]!;
  writeFileSync(second.configFile, readFileSync(second.configFile, 'utf8').replace(/groupId: \S+/, `groupId: ${group}`));
  const a = startKafkaDaemon(first);
  let b: ReturnType<typeof startKafkaDaemon> | undefined;
  try {
    await until('the first loader reads', a, () => a.output().includes('reading Kafka partitions from the checkpoint') || undefined);
    b = startKafkaDaemon(second);
    assert.equal(await exitWithin(b, 60_000), 1, b.output().slice(-3000));
    const fatal = fatalLine(b);
    assert.equal(fatal.code, 'SLUICE_KAFKA');
    assert.match(fatal.msg, new RegExp(`consumer group ${group} \\(source\\.groupId\\) gave this daemon 1 of 2 partitions`));
  } finally {
    if (b && b.child.exitCode === null) await stopDaemon(b);
    if (a.child.exitCode === null) await stopDaemon(a);
  }
});

test("the key a message names (canal's pkNames, Debezium's message key) is the table's key: the current state needs no --key, and the loader materializes it on schedule", async () => {
  const { brokers } = await testKafka();
  const canal = await createTopic(brokers, 'canal-key');
  const debezium = await createTopic(brokers, 'dbz-key');
  const producer = await connectProducer(brokers);
  await producer.send({ topic: canal, messages: fixture('canal-flat.jsonl').map((value) => ({ value })) });
  const plain = fixture('debezium-plain.jsonl');
  // The connector keys each message by the row's primary key; the truncate marker has no key.
  await producer.send({ topic: debezium, messages: plain.map((value) => ({ key: /"op": ?"t"/.test(value) ? null : `{"id": ${/"id": ?(\d+)/.exec(value)![1]}}`, value })) });
  await producer.disconnect();
  const workspace = kafkaWorkspace(
    brokers,
    `    - { name: ${canal}, format: canal-json }
    - name: ${debezium}
      format: debezium-json
      columns: { inventory.customers: { id: int, first_name: varchar(255), last_name: varchar(255), email: varchar(255) } }`,
    { sink: "  materialize:\n    enabled: true\n    schedule: '* * * * * *'\n" },
  );
  const daemon = startKafkaDaemon(workspace);
  const catalog = new LocalCatalog(workspace.catalogDir);
  try {
    await waitForOffsets(workspace, daemon, { [`${canal}:0`]: 4, [`${debezium}:0`]: 5 });
    await until('the loader materialized shop.fruit', daemon, async () => ((await catalog.getTable('shop', 'fruit_snapshot')) ? true : undefined));
  } finally {
    assert.deepEqual(await stopDaemon(daemon), { code: 0, signal: null }, 'SIGTERM: a final checkpoint, exit 0');
  }
  assert.deepEqual((await catalog.getTable('shop', 'fruit'))!.primaryKey, ['id']);
  assert.deepEqual((await catalog.getTable('inventory', 'customers'))!.primaryKey, ['id']);
  const password = { password: '' } as MariaDbServer;
  assert.deepEqual(await runQueryCli(workspace, password, 'SELECT id, name FROM shop.fruit_current ORDER BY id'), [{ id: '1', name: 'green apple' }]);
  // The customers' stream ends with a truncate: nothing stands.
  assert.deepEqual(await runQueryCli(workspace, password, 'SELECT id FROM inventory.customers_current'), []);
});
