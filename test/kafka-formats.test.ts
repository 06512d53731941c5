// The Kafka formats' decoders and the typed cells, without a broker: exact numbers, Debezium's
// semantic types, what each format refuses (a dead letter's reason), and values that do not fit
// their column (an error, never a NULL).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SluiceError } from '../src/core/errors.ts';
import { exactJsonText, JsonNumber, parseExactJson, type JsonValue } from '../src/core/exact-json.ts';
import { FORMAT_DECODERS, type KafkaFormat } from '../src/sources/kafka/formats/format-decoders.ts';
import { MessageRejected, type KafkaRow } from '../src/sources/kafka/formats/kafka-row.ts';
import { cellOf, ColumnLists, rowCells } from '../src/sources/kafka/kafka-cells.ts';
import { REPO_ROOT } from './helpers/servers.ts';

const fixture = (name: string): JsonValue[] =>
  readFileSync(join(REPO_ROOT, 'test/fixtures/kafka', name), 'utf8')
    .trim()
    .split('\n')
    .map((line) => parseExactJson(line));

const rowsOf = (format: KafkaFormat, message: JsonValue): KafkaRow[] => {
  const decoded = FORMAT_DECODERS[format].decode(message);
  assert.equal(decoded.kind, 'rows');
  return decoded.kind === 'rows' ? decoded.rows : [];
};

const rejects = (format: KafkaFormat, message: string, reason: RegExp): void => {
  assert.throws(() => FORMAT_DECODERS[format].decode(parseExactJson(message)), (error: unknown) => error instanceof MessageRejected && reason.test(error.message));
};

test('numbers keep their exact text, past 2^53 and with trailing zeros', () => {
  const parsed = parseExactJson('{"id": 18446744073709551615, "price": 17520.00, "s": "a\\"b", "n": [1e3, -0.5]}');
  assert.deepEqual(parsed, { id: new JsonNumber('18446744073709551615'), price: new JsonNumber('17520.00'), s: 'a"b', n: [new JsonNumber('1e3'), new JsonNumber('-0.5')] });
  assert.equal(exactJsonText(parsed), '{"id":18446744073709551615,"price":17520.00,"s":"a\\"b","n":[1e3,-0.5]}');
  for (const bad of ['{"a": 1', '{"a": 01}', "{'a': 1}", '{"a": 1} x', '']) assert.throws(() => parseExactJson(bad), Error, bad);
});

test('strings and structure as JSON.parse reads them: escapes, unicode, no whitespace or much, raw control characters refused', () => {
  // Numbers aside (kept as text), the parser must read every document as JSON.parse does.
  const plain = (value: JsonValue): unknown =>
    value instanceof JsonNumber ? Number(value.text) : Array.isArray(value) ? value.map(plain) : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)])) : value;
  const documents = [
    '{"a":"plain","b":"","c":"tab\\there","d":"\\u00e9\\u4e2d\\ud83d\\ude00","e":"é中😀","f":"a\\\\","g":"\\"q\\"","h":"\\/"}',
    ' \n\t{ "k" : [ true , false , null , "x\\\\\\"y" ] , "n" : { } , "m" : [ ] } \r\n',
    '["\\\\","x","\\\\\\\\"]',
    '"a string alone"',
  ];
  for (const text of documents) assert.deepEqual(plain(parseExactJson(text)), JSON.parse(text), text);
  for (const bad of ['"raw\u0001control"', '"line\nbreak"', '{"a":"unterminated}', '"bad escape \\x"', '["\\"]']) {
    assert.throws(() => JSON.parse(bad), SyntaxError, `JSON.parse should refuse ${bad}`);
    assert.throws(() => parseExactJson(bad), Error, bad);
  }
});

test('Debezium with the schema: types and semantic values from it', () => {
  const [read, insert] = fixture('debezium-envelope.jsonl').map((message) => rowsOf('debezium-json', message)[0]!);
  assert.equal(read!.op, 'read');
  assert.deepEqual(Object.fromEntries(read!.types!), {
    id: 'int',
    first_name: 'longtext',
    last_name: 'longtext',
    email: 'longtext',
    balance: 'decimal(10,2)',
    updated_at: 'datetime(6)',
    birth_date: 'date',
  });
  assert.deepEqual([read!.after!.balance, read!.after!.updated_at, read!.after!.birth_date], ['1234.50', '2023-11-14 22:13:20.123456', '1990-01-01']);
  assert.deepEqual([insert!.schema, insert!.table, insert!.op, insert!.commitMs, insert!.after!.balance], ['inventory', 'customers', 'insert', 1486500577000, '-0.05']);
});

test('Debezium zoned and nanosecond times: UTC text, nanoseconds a microsecond column would cut are refused', () => {
  const message = (type: string, name: string, value: string) =>
    parseExactJson(
      `{"schema":{"type":"struct","fields":[{"type":"struct","field":"after","fields":[{"type":"${type}","name":"${name}","field":"t"}]}]},` +
        `"payload":{"op":"c","after":{"t":${value}},"source":{"db":"d","table":"t","ts_ms":0}}}`,
    );
  assert.equal(rowsOf('debezium-json', message('string', 'io.debezium.time.ZonedTimestamp', '"2024-03-01T01:15:30.5+02:00"'))[0]!.after!.t, '2024-02-29 23:15:30.500000');
  assert.equal(rowsOf('debezium-json', message('int64', 'io.debezium.time.NanoTimestamp', '1000000000000'))[0]!.after!.t, '1970-01-01 00:16:40.000000');
  assert.throws(() => FORMAT_DECODERS['debezium-json'].decode(message('int64', 'io.debezium.time.NanoTimestamp', '1000000000001')), MessageRejected);
  assert.equal(rowsOf('debezium-json', message('int64', 'io.debezium.time.MicroTime', '-3723000001'))[0]!.after!.t, '-01:02:03.000001');
});

test('Debezium without the schema, and its truncate', () => {
  const rows = fixture('debezium-plain.jsonl').map((message) => rowsOf('debezium-json', message)[0]!);
  assert.deepEqual(
    rows.map((row) => [row.op, row.types, row.before?.first_name ?? null, row.after?.first_name ?? null]),
    [
      ['read', undefined, null, 'Sally'],
      ['insert', undefined, null, 'Anne'],
      ['update', undefined, 'Anne', 'Anne Marie'],
      ['delete', undefined, 'Anne Marie', null],
      ['truncate', undefined, null, null],
    ],
  );
  rejects('debezium-json', '{"op":"x","source":{"db":"d","table":"t","ts_ms":1}}', /op is 'x'/);
  rejects('debezium-json', '{"op":"c","after":{"id":1},"source":{"db":"d","ts_ms":1}}', /source\.table is missing/);
  rejects('debezium-json', '{"op":"d","source":{"db":"d","table":"t","ts_ms":1}}', /without a before image/);
});

test('canal flat: rows of one message, old values merged into the before image, DDL passed by, TRUNCATE a marker', () => {
  const [insert, update, alter, remove] = fixture('canal-flat.jsonl');
  assert.deepEqual(
    rowsOf('canal-json', insert!).map((row) => row.after!.name),
    ['apple', 'pear'],
  );
  const [updated] = rowsOf('canal-json', update!);
  assert.deepEqual([updated!.before!.name, updated!.after!.name, updated!.before!.price], ['apple', 'green apple', '3.50']);
  assert.equal(updated!.types!.get('price'), 'decimal(10,2)');
  assert.deepEqual(FORMAT_DECODERS['canal-json'].decode(alter!), { kind: 'skip', reason: 'DDL ALTER of shop.fruit (ALTER TABLE fruit ADD COLUMN color varchar(16))' });
  assert.equal(rowsOf('canal-json', remove!)[0]!.before!.name, 'pear');
  assert.equal(rowsOf('canal-json', parseExactJson('{"type":"TRUNCATE","isDdl":true,"database":"s","table":"t","es":5}'))[0]!.op, 'truncate');
  rejects('canal-json', '{"type":"INSERT","database":"s","table":"t","es":5}', /data is not an array/);
});

test('Maxwell and GoldenGate: images, times and what they refuse', () => {
  const maxwell = fixture('maxwell.jsonl');
  const [updated] = rowsOf('maxwell-json', maxwell[1]!);
  assert.deepEqual([updated!.before!.daemon, updated!.after!.daemon, updated!.commitMs], ['Stanislaw Lem', 'Firebus!  Firebus!', 1449786341000]);
  assert.equal(FORMAT_DECODERS['maxwell-json'].decode(maxwell[2]!).kind, 'skip');
  rejects('maxwell-json', '{"database":"test","type":"insert","ts":1,"data":{"id":9}}', /table is missing/);
  const [insert] = rowsOf('goldengate-json', fixture('goldengate.jsonl')[0]!);
  assert.deepEqual([insert!.schema, insert!.table, insert!.op, insert!.commitMs], ['QASOURCE', 'TCUSTORD', 'insert', Date.UTC(2015, 10, 5, 18, 45, 36)]);
  rejects('goldengate-json', '{"table":"TCUSTORD","op_type":"I","op_ts":"2015-11-05 18:45:36","after":{}}', /SCHEMA\.TABLE/);
  rejects('goldengate-json', '{"table":"Q.T","op_type":"X","op_ts":"2015-11-05 18:45:36","after":{}}', /op_type is 'X'/);
});

test('a value that does not fit its column is an error naming table, column and value, never NULL', () => {
  assert.equal(cellOf(new JsonNumber('255'), 'tinyint unsigned', 'base64'), '255');
  assert.equal(cellOf('-9223372036854775808', 'bigint', 'base64'), '-9223372036854775808');
  assert.equal(cellOf(new JsonNumber('3.5'), 'decimal(5,2)', 'base64'), '3.50');
  assert.equal(cellOf(true, 'tinyint(1)', 'base64'), '1');
  assert.deepEqual(cellOf('/w==', 'blob', 'base64'), Buffer.from([0xff]));
  assert.deepEqual(cellOf('\u00ff', 'varbinary(4)', 'latin1'), Buffer.from([0xff]));
  assert.equal(cellOf({ a: [new JsonNumber('1.10')] }, 'json', 'base64'), '{"a":[1.10]}');
  const misfits: [JsonValue, string][] = [
    [new JsonNumber('256'), 'tinyint unsigned'],
    ['abc', 'int'],
    [new JsonNumber('1.5'), 'bigint'],
    [new JsonNumber('1234.5'), 'decimal(5,2)'],
    [new JsonNumber('1.005'), 'decimal(5,2)'],
    ['2020-13', 'date'],
    [new JsonNumber('5'), 'datetime'],
    [{ a: 1 } as unknown as JsonValue, 'varchar(10)'],
    ['not base64!', 'blob'],
  ];
  for (const [value, type] of misfits) assert.throws(() => cellOf(value, type, 'base64'), /does not fit/, `${exactJsonText(value)} as ${type}`);
  const row: KafkaRow = { schema: 'shop', table: 'items', op: 'insert', before: null, after: { id: 'x1' }, commitMs: 0 };
  assert.throws(
    () => rowCells(row, new Map([['id', 'int']]), 'base64', 'items-0@7'),
    (error: unknown) => error instanceof SluiceError && error.code === 'SLUICE_KAFKA_VALUE' && error.context.table === 'shop.items' && /items-0@7: column id of shop\.items: "x1" does not fit int/.test(error.message),
  );
  assert.throws(
    () => rowCells({ ...row, after: { id: '1', extra: '2' } }, new Map([['id', 'int']]), 'base64', 'items-0@8'),
    (error: unknown) => error instanceof SluiceError && error.code === 'SLUICE_KAFKA_COLUMNS_UNKNOWN' && /column extra/.test(error.message),
  );
});

test("each format's primary key, where the message names it, marks the key columns; a key naming an unknown column marks none", () => {
  const keyOf = (format: KafkaFormat, message: string, key?: string): readonly string[] | undefined => {
    const decoded = FORMAT_DECODERS[format].decode(parseExactJson(message), key === undefined ? undefined : parseExactJson(key));
    return decoded.kind === 'rows' ? decoded.rows[0]!.key : undefined;
  };
  // canal: pkNames, as in the fixture.
  assert.deepEqual(rowsOf('canal-json', fixture('canal-flat.jsonl')[0]!)[0]!.key, ['id']);
  assert.equal(keyOf('canal-json', '{"type":"INSERT","database":"s","table":"t","es":5,"data":[{"id":"1"}],"pkNames":null}'), undefined);
  // Maxwell: primary_key_columns (output_primary_key_columns), else its message key's pk.* fields.
  const maxwell = '{"database":"test","table":"m","type":"insert","ts":1,"data":{"id":1,"k2":"a","v":2}';
  assert.deepEqual(keyOf('maxwell-json', `${maxwell},"primary_key_columns":["id","k2"]}`), ['id', 'k2']);
  assert.deepEqual(keyOf('maxwell-json', `${maxwell}}`, '{"database":"test","table":"m","pk.id":1,"pk.k2":"a"}'), ['id', 'k2']);
  assert.equal(keyOf('maxwell-json', `${maxwell}}`), undefined);
  // GoldenGate: primary_keys (includePrimaryKeys=true).
  assert.deepEqual(keyOf('goldengate-json', '{"table":"Q.T","op_type":"I","op_ts":"2015-11-05 18:45:36","after":{"ID":1},"primary_keys":["ID"]}'), ['ID']);
  // Debezium: the message key's fields, with its schema envelope or without.
  const debezium = '{"op":"c","after":{"id":1,"v":2},"source":{"db":"d","table":"t","ts_ms":1}}';
  assert.deepEqual(keyOf('debezium-json', debezium, '{"id":1}'), ['id']);
  assert.deepEqual(keyOf('debezium-json', debezium, '{"schema":{"type":"struct","fields":[{"type":"int32","field":"id"}]},"payload":{"id":1}}'), ['id']);
  assert.equal(keyOf('debezium-json', debezium), undefined);

  const lists = new ColumnLists();
  const types = new Map([['ID', 'int'], ['v', 'int']]);
  assert.deepEqual(lists.of(types, ['id']).map((column) => [column.name, column.primaryKey ?? false]), [['ID', true], ['v', false]]);
  assert.deepEqual(lists.of(types, ['id', 'gone']).map((column) => column.primaryKey ?? false), [false, false]);
  assert.deepEqual(lists.of(types).map((column) => column.primaryKey ?? false), [false, false]);
});
