// The one-shot commands with a Kafka loader's config (source.kind: kafka), against the real broker:
// `check` probes the brokers, the topics and the recorded offsets instead of a MySQL server;
// `checkpoint show` and `status` print where each partition resumes; `checkpoint set` refuses, naming why.
// With a binlog source and sink.kind kafka, `check` probes the sink's brokers and state topic instead of
// a warehouse and a catalog.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { makeWorkspace, stopDaemon } from './helpers/daemon.ts';
import { connectProducer, createTopic, kafkaWorkspace, startKafkaDaemon, waitForOffsets, type KafkaWorkspace } from './helpers/kafka.ts';
import { kafkaSinkNames, kafkaSinkYaml } from './helpers/kafka-sink.ts';
import { REPO_ROOT, testKafka, testMariaDb } from './helpers/servers.ts';

function sluice(workspace: KafkaWorkspace, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), ...args, '--config', workspace.configFile], { cwd: workspace.dir, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const insert = (id: number) => JSON.stringify({ before: null, after: { id, name: `n${id}` }, source: { db: 'shop', table: 'items' }, op: 'c', ts_ms: 1_700_000_000_000 + id });

test("check, checkpoint show and status speak of a loader's brokers, topics and offsets", async () => {
  const { brokers } = await testKafka();
  const topic = await createTopic(brokers, 'commands', 2);
  const workspace = kafkaWorkspace(brokers, `    - name: ${topic}\n      format: debezium-json\n      columns: { shop.items: { id: int, name: varchar(20) } }`);

  const before = sluice(workspace, 'check');
  assert.equal(before.code, 0, before.stdout + before.stderr);
  assert.match(before.stdout, new RegExp(`ok    Kafka reachable: ${brokers.join(',')} \\(source\\.brokers\\): cluster \\S+, 1 broker\\(s\\)`));
  assert.match(before.stdout, new RegExp(`ok    topics: ${topic} \\(2 partition\\(s\\), debezium-json\\)`));
  assert.match(before.stdout, /ok    checkpoint position: no checkpoint yet; each partition starts at its earliest offset/);
  assert.match(before.stdout, /all 7 checks passed/);
  assert.match(sluice(workspace, 'checkpoint', 'show').stdout, new RegExp(`no checkpoint in .*: the first start reads ${topic} from the earliest offset`));

  const producer = await connectProducer(brokers);
  for (let id = 1; id <= 6; id++) await producer.send({ topic, messages: [{ partition: id % 2, value: insert(id) }] });
  await producer.disconnect();
  const daemon = startKafkaDaemon(workspace);
  await waitForOffsets(workspace, daemon, { [`${topic}:0`]: 3, [`${topic}:1`]: 3 });
  await stopDaemon(daemon);

  const shown = sluice(workspace, 'checkpoint', 'show');
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, new RegExp(`partitions:       ${topic}:0 resumes at offset 3\\n\\s+${topic}:1 resumes at offset 3\\n`));
  assert.match(shown.stdout, /daemon: {10}not running/);
  const json = JSON.parse(sluice(workspace, 'checkpoint', 'show', '--json').stdout) as { source: { kind: string; position: { offsets: Record<string, string> } } };
  assert.deepEqual(json.source.position.offsets, { [`${topic}:0`]: '3', [`${topic}:1`]: '3' });

  const status = sluice(workspace, 'status');
  assert.equal(status.code, 3, status.stdout + status.stderr);
  assert.match(status.stdout, new RegExp(`sluice is not running .*it resumes from:\\n[^]*${topic}:1 resumes at offset 3`));

  const after = sluice(workspace, 'check');
  assert.equal(after.code, 0, after.stdout + after.stderr);
  assert.match(after.stdout, /ok    checkpoint position: checkpoint \d+: 2 partition\(s\) resume at offsets the brokers still hold/);

  const set = sluice(workspace, 'checkpoint', 'set', '--earliest');
  assert.equal(set.code, 1, set.stderr);
  assert.match(set.stderr, /checkpoint set moves a binlog position; .* is a Kafka loader's \(source\.kind: kafka\).*\[SLUICE_CHECKPOINT_TARGET\]/);
});

test('check names a topic the brokers lack and brokers that do not answer', async () => {
  const { brokers } = await testKafka();
  const workspace = kafkaWorkspace(brokers, '    - { name: no-such-topic-here, format: canal-json }');
  const missing = sluice(workspace, 'check');
  assert.equal(missing.code, 1);
  assert.match(missing.stdout, /FAIL  topics: the topic\(s\) no-such-topic-here \(source\.topics\) do not exist on .*\[SLUICE_KAFKA\]/);
  assert.match(missing.stdout, /--    checkpoint position: not checked: the topics check failed/);

  writeFileSync(workspace.configFile, readFileSync(workspace.configFile, 'utf8').replace(/brokers: \[.*\]/, 'brokers: [127.0.0.1:1]'));
  const down = sluice(workspace, 'check');
  assert.equal(down.code, 1);
  assert.match(down.stdout, /FAIL  Kafka reachable: 127\.0\.0\.1:1 \(source\.brokers\): /);
  assert.match(down.stdout, /ok    warehouse: /);
});

test("check with sink.kind kafka probes the sink's brokers and state topic instead of a warehouse and a catalog", async () => {
  const server = await testMariaDb();
  const { brokers } = await testKafka();
  const names = kafkaSinkNames('chk');
  const workspace = makeWorkspace(server, { start: 'latest', routing: "  include: ['check_kafka_sink.*']", sinkExtra: kafkaSinkYaml(brokers, names) });
  const check = () => {
    const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'check', '--config', workspace.configFile], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, SLUICE_TEST_PASSWORD: server.password },
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  const where = `${brokers.join(',')} \\(sink\\.kafka\\.brokers\\): cluster \\S+, 1 broker\\(s\\)`;

  const fresh = check();
  assert.equal(fresh.code, 0, fresh.stdout + fresh.stderr);
  assert.match(fresh.stdout, new RegExp(`^ok {4}Kafka sink: ${where}; state topic ${names.stateTopic} does not exist yet \\(created at the first start, sink\\.kafka\\.stateTopic\\)$`, 'm'));
  assert.doesNotMatch(fresh.stdout, /^\S+ +(warehouse|catalog):/m, 'a Kafka sink has no warehouse or catalog to check');
  assert.match(fresh.stdout, /^ok {4}MySQL reachable: /m);
  assert.match(fresh.stdout, /all 9 checks passed\n$/);

  const admin = new Kafka({ clientId: 'sluice-test', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: names.stateTopic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const present = check();
  assert.equal(present.code, 0, present.stdout + present.stderr);
  assert.match(present.stdout, new RegExp(`^ok {4}Kafka sink: ${where}; state topic ${names.stateTopic} exists$`, 'm'));

  writeFileSync(workspace.configFile, readFileSync(workspace.configFile, 'utf8').replace(/brokers: \[.*\]/, 'brokers: [127.0.0.1:1]'));
  const down = check();
  assert.equal(down.code, 1, down.stdout);
  assert.match(down.stdout, /^FAIL {2}Kafka sink: 127\.0\.0\.1:1 \(sink\.kafka\.brokers\): /m);
  assert.match(down.stdout, /^ok {4}state: /m);
});
