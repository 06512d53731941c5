// `source.kind: kafka`: the loader's config, checked like the rest (file:line:column and key path),
// with its defaults and paths relative to the config file; a binlog config is still read as before.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configSourceKind, loadKafkaConfig } from '../src/config/load.ts';
import { isSluiceError } from '../src/core/errors.ts';

function configFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-kafka-config-')), 'sluice.yaml');
  writeFileSync(file, text);
  return file;
}

test('a Kafka config takes its defaults, and its dead-letter file is relative to the config file', async () => {
  const file = configFile(`source:
  kind: kafka
  brokers: [kafka1:9092]
  topics:
    - name: orders
      format: debezium-json
    - name: ogg
      format: goldengate-json
      columns: { QASOURCE.TCUSTORD: { ORDER_ID: int, PRICE: 'decimal(8,2)' } }
`);
  assert.equal(await configSourceKind(file), 'kafka');
  const config = await loadKafkaConfig(file);
  assert.deepEqual(
    { ...config.source, deadLetterFile: config.source.deadLetterFile.endsWith('/.sluice/dead-letters.jsonl') },
    {
      kind: 'kafka',
      brokers: ['kafka1:9092'],
      clientId: 'sluice',
      groupId: 'sluice',
      start: 'earliest',
      sessionTimeoutMs: 10000,
      deadLetterFile: true,
      topics: [
        { name: 'orders', format: 'debezium-json' },
        { name: 'ogg', format: 'goldengate-json', columns: { 'QASOURCE.TCUSTORD': { ORDER_ID: 'int', PRICE: 'decimal(8,2)' } } },
      ],
    },
  );
  assert.ok(config.source.deadLetterFile.startsWith(join(file, '..')));
  assert.equal(await configSourceKind(configFile('source:\n  host: db\n  user: u\n')), 'binlog');
});

test('a misspelt format or key names its line and path', async () => {
  const file = configFile(`source:
  kind: kafka
  brokers: [kafka1]
  topics:
    - name: orders
      format: debezium
      colums: {}
`);
  await assert.rejects(loadKafkaConfig(file), (error: unknown) => {
    assert.ok(isSluiceError(error, 'SLUICE_CONFIG_INVALID'), String(error));
    assert.match(error.message, /:3:\d+ source\.brokers\[0\]: expected 'host:port'/);
    assert.match(error.message, /:6:\d+ source\.topics\[0\]\.format: /);
    assert.match(error.message, /:7:\d+ source\.topics\[0\]\.colums: unknown key/);
    return true;
  });
});

test('source.group.member names one loader of several; a name that cannot go into a file name is refused at its line', async () => {
  const topics = `  topics:
    - name: orders
      format: debezium-json
`;
  const good = await loadKafkaConfig(configFile(`source:\n  kind: kafka\n  brokers: [kafka1:9092]\n  group: { member: loader-1 }\n${topics}`));
  assert.deepEqual(good.source.group, { member: 'loader-1' });
  assert.equal((await loadKafkaConfig(configFile(`source:\n  kind: kafka\n  brokers: [kafka1:9092]\n${topics}`))).source.group, undefined, 'absent: the only loader');
  for (const [group, expected] of [
    ['{ member: loader.1 }', /:4:\d+ source\.group\.member: expected 1-40 letters, digits, _ or -/],
    ['{ member: "a/b" }', /:4:\d+ source\.group\.member: expected 1-40 letters, digits, _ or -/],
    ['{ name: loader1 }', /:4:\d+ source\.group\.name: unknown key/],
  ] as const) {
    await assert.rejects(loadKafkaConfig(configFile(`source:\n  kind: kafka\n  brokers: [kafka1:9092]\n  group: ${group}\n${topics}`)), (error: unknown) => {
      assert.ok(isSluiceError(error, 'SLUICE_CONFIG_INVALID'), String(error));
      assert.match(error.message, expected);
      return true;
    });
  }
});
