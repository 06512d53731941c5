// Debezium's JSON change events (the JsonConverter), with or without the schema envelope:
// `{schema, payload}` or the payload alone. op c/u/d/r/t; source.db and source.table name the table
// (source.schema for Oracle and PostgreSQL connectors, whose db is the database); source.ts_ms is
// when the change was made, ts_ms when Debezium read it. With the schema, the column types come from
// it, semantic types (io.debezium.time.*, Decimal) decoded to exact text here.
import type { ChangeOp } from '../../../core/change-event.ts';
import { isJsonObject, JsonNumber, type JsonObject, type JsonValue } from '../../../core/exact-json.ts';
import { clockText, epochDaysText, utcText, zonedToUtcText } from './debezium-time.ts';
import { describeJson, optionalObject, reject, requireInteger, requireObject, requireString, type DecodedMessage, type FormatDecoder, type KafkaRow } from './kafka-row.ts';

const OPS: Record<string, ChangeOp> = { c: 'insert', u: 'update', d: 'delete', r: 'read', t: 'truncate' };

/** A column as the schema types it: a MySQL type, and how its JSON value becomes the text of that type. */
interface DebeziumColumn {
  mysqlType: string;
  normalize(value: JsonValue, column: string): JsonValue;
}

export const debeziumJson: FormatDecoder = {
  bytes: 'base64',
  // The message key holds the row's primary key columns.
  readsKey: true,
  decode(message: JsonValue, key?: JsonValue): DecodedMessage {
    const outer = requireObject(message, 'the message');
    const enveloped = 'payload' in outer && 'schema' in outer;
    const payload = enveloped ? requireObject(outer.payload, 'payload') : outer;
    const opText = requireString(payload.op, 'op');
    const op = OPS[opText] ?? reject(`op is '${opText}', expected one of c, u, d, r, t`);
    const source = requireObject(payload.source, 'source');
    const schema = typeof source.schema === 'string' && source.schema !== '' ? source.schema : requireString(source.db, 'source.db');
    const table = requireString(source.table, 'source.table');
    const commitMs = requireInteger(source.ts_ms ?? payload.ts_ms, 'source.ts_ms');
    let before = optionalObject(payload.before, 'before');
    let after = optionalObject(payload.after, 'after');
    if ((op === 'insert' || op === 'read') && !after) reject(`op '${opText}' without an after image`);
    if (op === 'update' && !after) reject("op 'u' without an after image");
    if (op === 'delete' && !before) reject("op 'd' without a before image");
    const row: KafkaRow = { schema, table, op, before: null, after: null, commitMs };
    if (op === 'truncate') return { kind: 'rows', rows: [row] };
    const named = debeziumKeyColumns(key);
    if (named) row.key = named;
    if (enveloped) {
      const columns = schemaColumns(requireObject(outer.schema, 'schema'));
      before = before && normalizeRow(before, columns);
      after = after && normalizeRow(after, columns);
      row.types = new Map([...columns].map(([name, column]) => [name, column.mysqlType]));
    }
    return { kind: 'rows', rows: [{ ...row, before, after }] };
  },
};

function normalizeRow(row: JsonObject, columns: ReadonlyMap<string, DebeziumColumn>): JsonObject {
  const out: JsonObject = {};
  for (const [name, value] of Object.entries(row)) {
    const column = columns.get(name);
    out[name] = value === null || !column ? value : column.normalize(value, name);
  }
  return out;
}

/** The row struct's fields (of `after`, else `before`) by name, in schema order. */
function schemaColumns(schema: JsonObject): Map<string, DebeziumColumn> {
  const fields = Array.isArray(schema.fields) ? schema.fields : reject('schema.fields is not an array');
  const image = fields.find((field) => isJsonObject(field) && field.field === 'after') ?? fields.find((field) => isJsonObject(field) && field.field === 'before');
  const imageFields = isJsonObject(image) && Array.isArray(image.fields) ? image.fields : reject('schema has no before or after struct with fields');
  const columns = new Map<string, DebeziumColumn>();
  for (const field of imageFields) {
    const f = requireObject(field, 'a schema field');
    columns.set(requireString(f.field, 'a schema field name'), columnOf(f));
  }
  return columns;
}

const asIs = (value: JsonValue): JsonValue => value;

function integerOf(value: JsonValue, column: string): bigint {
  if (!(value instanceof JsonNumber) || !/^-?\d+$/.test(value.text)) reject(`column ${column} is ${describeJson(value)}, expected an integer for its schema type`);
  return BigInt(value.text);
}

function columnOf(field: JsonObject): DebeziumColumn {
  const type = typeof field.type === 'string' ? field.type : '';
  const name = typeof field.name === 'string' ? field.name : '';
  const parameters = isJsonObject(field.parameters) ? field.parameters : {};
  switch (name) {
    case 'io.debezium.time.Date':
    case 'org.apache.kafka.connect.data.Date':
      return { mysqlType: 'date', normalize: (v, c) => epochDaysText(integerOf(v, c)) };
    case 'io.debezium.time.Timestamp':
    case 'org.apache.kafka.connect.data.Timestamp':
      return { mysqlType: 'datetime(3)', normalize: (v, c) => utcText(integerOf(v, c) * 1000n, 3) };
    case 'io.debezium.time.MicroTimestamp':
      return { mysqlType: 'datetime(6)', normalize: (v, c) => utcText(integerOf(v, c)) };
    case 'io.debezium.time.NanoTimestamp':
      return { mysqlType: 'datetime(6)', normalize: (v, c) => utcText(wholeMicros(integerOf(v, c), c)) };
    case 'io.debezium.time.ZonedTimestamp':
      return {
        mysqlType: 'timestamp(6)',
        normalize: (v, c) => (typeof v === 'string' && zonedToUtcText(v)) || reject(`column ${c} is ${describeJson(v)}, expected an ISO-8601 timestamp with a zone`),
      };
    case 'io.debezium.time.Time':
    case 'org.apache.kafka.connect.data.Time':
      return { mysqlType: 'time(3)', normalize: (v, c) => clockText(integerOf(v, c) * 1000n, 3) };
    case 'io.debezium.time.MicroTime':
      return { mysqlType: 'time(6)', normalize: (v, c) => clockText(integerOf(v, c)) };
    case 'io.debezium.time.NanoTime':
      return { mysqlType: 'time(6)', normalize: (v, c) => clockText(wholeMicros(integerOf(v, c), c)) };
    case 'io.debezium.time.Year':
      return { mysqlType: 'year', normalize: asIs };
    case 'io.debezium.data.Json':
      return { mysqlType: 'json', normalize: asIs };
    case 'org.apache.kafka.connect.data.Decimal': {
      const scale = Number(parameters.scale instanceof JsonNumber ? parameters.scale.text : parameters.scale ?? 0);
      const precisionText = parameters['connect.decimal.precision'];
      const precision = typeof precisionText === 'string' ? Number(precisionText) : 65;
      return { mysqlType: `decimal(${precision},${scale})`, normalize: (v, c) => decimalText(v, scale, c) };
    }
    case 'io.debezium.data.VariableScaleDecimal':
      return {
        mysqlType: 'varchar(255)',
        normalize: (v, c) => {
          const struct = requireObject(v, `column ${c}`);
          return decimalText(struct.value ?? null, Number(integerOf(struct.scale ?? null, c)), c);
        },
      };
  }
  switch (type) {
    case 'int8':
      return { mysqlType: 'tinyint', normalize: asIs };
    case 'int16':
      return { mysqlType: 'smallint', normalize: asIs };
    case 'int32':
      return { mysqlType: 'int', normalize: asIs };
    case 'int64':
      return { mysqlType: 'bigint', normalize: asIs };
    case 'float32':
      return { mysqlType: 'float', normalize: asIs };
    case 'float64':
      return { mysqlType: 'double', normalize: asIs };
    case 'boolean':
      return { mysqlType: 'tinyint(1)', normalize: asIs };
    case 'bytes':
      return { mysqlType: 'longblob', normalize: asIs };
    case 'string':
      return { mysqlType: 'longtext', normalize: asIs };
    default:
      // struct, array, map: kept whole as JSON text.
      return { mysqlType: 'json', normalize: asIs };
  }
}

function wholeMicros(nanos: bigint, column: string): bigint {
  if (nanos % 1000n !== 0n) reject(`column ${column} has nanoseconds (${nanos}) that a microsecond column would cut`);
  return nanos / 1000n;
}

/** Connect's Decimal: the unscaled value as big-endian two's complement bytes, base64 in JSON. */
function decimalText(value: JsonValue, scale: number, column: string): string {
  if (typeof value !== 'string') reject(`column ${column} is ${describeJson(value)}, expected the base64 bytes of a Decimal`);
  const bytes = Buffer.from(value, 'base64');
  let unscaled = 0n;
  for (const byte of bytes) unscaled = (unscaled << 8n) | BigInt(byte);
  if (bytes.length > 0 && bytes[0]! >= 0x80) unscaled -= 1n << BigInt(bytes.length * 8);
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const text = scale > 0 ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return negative ? `-${text}` : text;
}

/** The message key's fields, which are the table's primary key columns (with or without its schema envelope). */
function debeziumKeyColumns(key: JsonValue | undefined): readonly string[] | undefined {
  if (!isJsonObject(key)) return undefined;
  const struct = 'payload' in key && 'schema' in key ? key.payload : key;
  if (!isJsonObject(struct)) return undefined;
  const names = Object.keys(struct);
  return names.length > 0 ? names : undefined;
}
