// What a format decoder makes of one Kafka message: the row changes it carries, still as JSON values
// by column name, or a reason to pass it by (a tombstone, a DDL statement). Turning values into
// exact cells of typed columns is kafka-cells.ts's job, the same for every format.
import type { ChangeOp } from '../../../core/change-event.ts';
import { isJsonObject, JsonNumber, type JsonObject, type JsonValue } from '../../../core/exact-json.ts';

export interface KafkaRow {
  schema: string;
  table: string;
  op: ChangeOp;
  before: JsonObject | null;
  after: JsonObject | null;
  /** When the change happened at the source, in milliseconds since the epoch. */
  commitMs: number;
  /** MySQL types of the columns as the message states them (Debezium's schema, canal's mysqlType), in column order. */
  types?: ReadonlyMap<string, string>;
  /**
   * The table's primary key columns, where the message names them (canal's pkNames, Maxwell's
   * primary_key_columns, GoldenGate's primary_keys, the fields of Debezium's message key): they let
   * the sink record the key, which the current-state view and the materialization need.
   */
  key?: readonly string[];
}

export type DecodedMessage = { kind: 'rows'; rows: KafkaRow[] } | { kind: 'skip'; reason: string };

export interface FormatDecoder {
  /** How the format writes binary column values in JSON text. */
  readonly bytes: 'base64' | 'latin1';
  /** Whether `decode` reads the message key: only then is each message's key parsed. */
  readonly readsKey?: true;
  /** Throws MessageRejected when the message lacks what the format needs. `key` is the message's key, parsed when it is JSON and `readsKey`. */
  decode(value: JsonValue, key?: JsonValue): DecodedMessage;
}

/** A message that is JSON but not of its topic's format: it goes to the dead letters with `reason`. */
export class MessageRejected extends Error {}

export function reject(reason: string): never {
  throw new MessageRejected(reason);
}

export function requireObject(value: JsonValue | undefined, what: string): JsonObject {
  if (!isJsonObject(value)) reject(`${what} is ${describeJson(value)}, expected an object`);
  return value;
}

export function optionalObject(value: JsonValue | undefined, what: string): JsonObject | null {
  return value === undefined || value === null ? null : requireObject(value, what);
}

export function requireString(value: JsonValue | undefined, what: string): string {
  if (typeof value !== 'string' || value === '') reject(`${what} is ${describeJson(value)}, expected a non-empty string`);
  return value;
}

/** An integer field (milliseconds, seconds) that fits a double exactly. */
export function requireInteger(value: JsonValue | undefined, what: string): number {
  const text = value instanceof JsonNumber ? value.text : typeof value === 'string' ? value : undefined;
  if (text === undefined || !/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) reject(`${what} is ${describeJson(value)}, expected an integer`);
  return Number(text);
}

/** A list of column names (a key's), or undefined when absent, empty or not a list of non-empty strings. */
export function columnNames(value: JsonValue | undefined): readonly string[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  return value.every((name) => typeof name === 'string' && name !== '') ? (value as string[]) : undefined;
}

export function describeJson(value: JsonValue | undefined): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (value instanceof JsonNumber) return `the number ${value.text}`;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value).slice(0, 40)}`;
}
