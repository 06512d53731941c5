// sink.kind kafka in the config: its defaults, and mistakes named by key and line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../src/config/load.ts';
import { isSluiceError } from '../src/core/errors.ts';

const binlog = 'source:\n  host: db.example\n  user: sluice\n';

function configError(yaml: string): string {
  try {
    parseConfig(yaml, 'sluice.yaml', {});
  } catch (error) {
    assert.ok(isSluiceError(error, 'SLUICE_CONFIG_INVALID'), String(error));
    return error.message;
  }
  assert.fail('expected SLUICE_CONFIG_INVALID');
}

test('sink.kind kafka takes its defaults', () => {
  const config = parseConfig(`${binlog}sink:\n  kind: kafka\n  kafka:\n    brokers: ['k1:9092']\n    transactionalId: sluice-shop\n`, 'sluice.yaml', {});
  assert.equal(config.sink.kind, 'kafka');
  assert.deepEqual(config.sink.kafka, {
    brokers: ['k1:9092'],
    clientId: 'sluice',
    transactionalId: 'sluice-shop',
    prefix: 'sluice',
    topic: '{prefix}.{db}.{table}',
    schemaTopic: '{prefix}',
    stateTopic: 'sluice-state',
    partitions: 1,
    replicationFactor: -1,
    tombstones: true,
    transactionTimeoutMs: 60000,
  });
  // Left out, snapshot.mode is initial, as with the Hive sink: existing rows go out as `r` messages first.
  assert.equal(config.snapshot.mode, 'initial');
  assert.equal(parseConfig(binlog, 'sluice.yaml', {}).snapshot.mode, 'initial');
});

test('sink.kind kafka: a mistake names its key', () => {
  assert.match(configError(`${binlog}sink:\n  kind: kafka\n`), /sink\.kafka/);
  assert.match(configError(`${binlog}sink:\n  kind: kafka\n  kafka:\n    brokers: ['k1:9092']\n`), /sink\.kafka\.transactionalId/);
  assert.match(configError(`${binlog}sink:\n  kind: kafka\n  kafka:\n    brokers: [k1]\n    transactionalId: t\n`), /sluice\.yaml:7:15 sink\.kafka\.brokers\[0\]: expected .host:port./);
  assert.match(configError(`${binlog}sink:\n  kind: kafka\n  kafka:\n    brokers: ['k1:9092']\n    transactionalId: t\n    topic: 'cdc.{schema}'\n`), /sink\.kafka\.topic.*\{prefix\}/s);
  assert.match(configError(`${binlog}sink:\n  kind: kafka\n  kafka:\n    brokers: ['k1:9092']\n    transactionalId: t\n    stateTopic: 'state.{db}'\n`), /sink\.kafka\.stateTopic/);
  assert.match(configError(`${binlog}sink:\n  kafka:\n    brokers: ['k1:9092']\n    transactionalId: t\n`), /sink\.kind/);
  assert.match(configError(`${binlog}snapshot:\n  mode: when_needed\nsink:\n  kind: kafka\n  kafka:\n    brokers: ['k1:9092']\n    transactionalId: t\n`), /snapshot\.mode: when_needed is not built for the Kafka sink/);
});
