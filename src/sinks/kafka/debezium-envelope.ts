// A binlog change as Debezium's MySQL connector writes it (schemas.enable=false): a key of the primary
// key columns, and the value envelope {before, after, source, op, ts_ms}, so that every Debezium
// consumer (and sluice's own Kafka source, format debezium-json) reads it. Values stay exact: numbers
// are written with the digits the binlog gave (a BIGINT past 2^53 is not rounded), DECIMAL and the
// temporal types as MySQL's text (Debezium's decimal.handling.mode=string; its epoch numbers would lose
// the server's spelling and need the schema to read), binary as base64 (binary.handling.mode=base64).
import { parseMysqlType } from '../../catalog/type-mapping.ts';
import type { CellValue, ChangeEvent, ChangeOp, SourceColumn } from '../../core/change-event.ts';
import { exactJsonText, isJsonNumberText, JsonNumber, type JsonObject, type JsonValue } from '../../core/exact-json.ts';

/** Types whose cells are JSON numbers; every other text type is a JSON string. */
const NUMBER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'year', 'float', 'double', 'real', 'double precision']);

const OPS: Record<ChangeOp, string> = { insert: 'c', update: 'u', delete: 'd', read: 'r', truncate: 't' };

/** One message before it is sent: key and value as JSON text (null: a tombstone, or a keyless table's key). */
export interface EnvelopeMessage {
  key: string | null;
  value: string | null;
}

export interface EnvelopeContext {
  /** `source.name`: the logical server name (the topic prefix). */
  name: string;
  version: string;
  /** Writes a tombstone after each delete, for log compaction (Debezium's tombstones.on.delete). */
  tombstones: boolean;
  /** Milliseconds now: the envelope's ts_ms, when sluice handled the change. */
  now: number;
}

function cellJson(value: CellValue, column: SourceColumn): JsonValue {
  if (value === null) return null;
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (NUMBER_TYPES.has(parseMysqlType(column.mysqlType).name) && isJsonNumberText(value)) return new JsonNumber(value);
  return value;
}

function image(columns: readonly SourceColumn[], values: readonly CellValue[] | null): JsonObject | null {
  if (values === null) return null;
  const row: JsonObject = {};
  columns.forEach((column, index) => (row[column.name] = cellJson(values[index] ?? null, column)));
  return row;
}

/** The key of an image: the primary key columns' values, or null for a table without one. */
function keyOf(columns: readonly SourceColumn[], values: readonly CellValue[] | null): string | null {
  if (values === null || !columns.some((column) => column.primaryKey)) return null;
  const key: JsonObject = {};
  columns.forEach((column, index) => {
    if (column.primaryKey) key[column.name] = cellJson(values[index] ?? null, column);
  });
  return exactJsonText(key);
}

/** The envelope's `source` block: where the change sits in the binlog. */
export function sourceBlock(event: Pick<ChangeEvent, 'schema' | 'table' | 'commitTs' | 'position' | 'sequence'> & { op?: ChangeOp }, context: EnvelopeContext): JsonObject {
  return {
    version: context.version,
    connector: 'mysql',
    name: context.name,
    ts_ms: new JsonNumber(String(event.commitTs * 1000)),
    snapshot: event.op === 'read' ? 'true' : 'false',
    db: event.schema,
    table: event.table,
    gtid: event.position.gtid ?? null,
    file: event.position.file,
    pos: new JsonNumber(String(event.position.offset)),
    // sluice's _seq: orders every change of the stream, the same after a restart.
    sequence: event.sequence.toString(),
  };
}

function envelope(op: string, before: JsonObject | null, after: JsonObject | null, event: ChangeEvent, context: EnvelopeContext): string {
  return exactJsonText({ before, after, source: sourceBlock(event, context), op, ts_ms: new JsonNumber(String(context.now)), transaction: null });
}

/**
 * The messages of one change, in order. An update that changes the primary key is, as Debezium
 * writes it, a delete under the old key (and its tombstone) then a create under the new one, so that
 * each key's partition holds that key's whole story. A truncate has no key (the sink sends it to every
 * partition of the topic).
 */
export function envelopeMessages(event: ChangeEvent, context: EnvelopeContext): EnvelopeMessage[] {
  const { columns } = event;
  const before = image(columns, event.before);
  const after = image(columns, event.after);
  if (event.op === 'truncate') return [{ key: null, value: envelope('t', null, null, event, context) }];
  const oldKey = keyOf(columns, event.before);
  const newKey = keyOf(columns, event.after);
  const deleted = (key: string | null): EnvelopeMessage[] => [
    { key, value: envelope('d', before, null, event, context) },
    ...(context.tombstones && key !== null ? [{ key, value: null }] : []),
  ];
  if (event.op === 'delete') return deleted(oldKey);
  if (event.op === 'update' && oldKey !== null && newKey !== null && oldKey !== newKey) {
    return [...deleted(oldKey), { key: newKey, value: envelope('c', null, after, event, context) }];
  }
  return [{ key: event.op === 'update' ? (newKey ?? oldKey) : newKey, value: envelope(OPS[event.op], event.op === 'update' ? before : null, after, event, context) }];
}

/**
 * A statement as Debezium's schema change topic has it: keyed by the database, the DDL with the
 * position after it. `tableChanges` stays empty: sluice does not model the table's new structure here;
 * the next change of the table carries its columns.
 */
export function schemaChangeMessage(
  change: { database: string; ddl: string; position: ChangeEvent['position']; commitTs: number; sequence: bigint },
  context: EnvelopeContext,
): EnvelopeMessage {
  const source = sourceBlock({ schema: change.database, table: '', commitTs: change.commitTs, position: change.position, sequence: change.sequence }, context);
  return {
    key: exactJsonText({ databaseName: change.database }),
    value: exactJsonText({ source, ts_ms: new JsonNumber(String(context.now)), databaseName: change.database, schemaName: null, ddl: change.ddl, tableChanges: [] }),
  };
}
