// The Kafka loader and its consumer group. The checkpoint record holds the offsets; the group's
// committed offsets follow each record and name it in their metadata (`sluice:<jobId>:<record>:<state
// dir>`), so the group tells which record, and so which files, its offsets belong to: the hand-over
// the scale-out of docs/kafka.md builds on.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { CheckpointStore } from '../src/checkpoint/checkpoint-store.ts';
import { parseRecordReference } from '../src/sources/kafka/group-offset-metadata.ts';
import type { KafkaSourceState } from '../src/sources/kafka/kafka-position.ts';
import { stopDaemon, until } from './helpers/daemon.ts';
import { connectProducer, createTopic, kafkaWorkspace, startKafkaDaemon } from './helpers/kafka.ts';
import { REPO_ROOT, testKafka } from './helpers/servers.ts';

test("a loader's committed group offsets name the checkpoint record they belong to", async () => {
  const { brokers } = await testKafka();
  const topic = await createTopic(brokers, 'group-meta', 2);
  const producer = await connectProducer(brokers);
  const messages = readFileSync(join(REPO_ROOT, 'test/fixtures/kafka/canal-flat.jsonl'), 'utf8').trim().split('\n');
  await producer.send({ topic, messages: messages.map((value, index) => ({ partition: index % 2, value })) });
  await producer.disconnect();
  const workspace = kafkaWorkspace(brokers, `    - { name: ${topic}, format: canal-json }`);
  const groupId = /groupId: (\S+)/.exec(readFileSync(workspace.configFile, 'utf8'))![1]!;
  const ends = { [`${topic}:0`]: String(Math.ceil(messages.length / 2)), [`${topic}:1`]: String(Math.floor(messages.length / 2)) };

  const admin = new Kafka({ clientId: 'sluice-test', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const daemon = startKafkaDaemon(workspace);
  try {
    const committed = await until('group offsets at the end of both partitions', daemon, async () => {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const partitions = offsets?.partitions ?? [];
      return partitions.every((p) => p.offset === ends[`${topic}:${p.partition}`]) && partitions.length === 2 ? partitions : undefined;
    });
    const references = committed.map((p) => parseRecordReference(p.metadata));
    assert.ok(references[0], `the metadata names a record: ${committed[0]!.metadata}`);
    assert.deepEqual(references[1], references[0], 'one commit, one record for all partitions');
    const { jobId, recordId, stateDir } = references[0];
    assert.equal(stateDir, workspace.stateDir);
    const record = await new CheckpointStore(stateDir).read(recordId);
    assert.equal(record.jobId, jobId);
    assert.deepEqual((record.sources.kafka as KafkaSourceState).position.offsets, ends, 'the named record holds the committed offsets');
  } finally {
    await stopDaemon(daemon);
    await admin.disconnect();
  }
});
