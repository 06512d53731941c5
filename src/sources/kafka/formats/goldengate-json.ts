// Oracle GoldenGate for Big Data's JSON formatter, operation-modelled: `table` as SCHEMA.TABLE,
// `op_type` I/U/D/T, `before`/`after` images, `op_ts` the source commit time in UTC
// ('2015-11-05 18:45:36.000000'), `pos` the trail position. An update's before image holds what the
// trail logged (all columns with full supplemental logging, otherwise the key and changed ones).
import type { ChangeOp } from '../../../core/change-event.ts';
import type { JsonValue } from '../../../core/exact-json.ts';
import { columnNames, optionalObject, reject, requireObject, requireString, type DecodedMessage, type FormatDecoder } from './kafka-row.ts';

const OPS: Record<string, ChangeOp> = { I: 'insert', U: 'update', D: 'delete', T: 'truncate' };

export const goldenGateJson: FormatDecoder = {
  // The JSON formatter writes binary columns base64-encoded.
  bytes: 'base64',
  decode(message: JsonValue): DecodedMessage {
    const object = requireObject(message, 'the message');
    const qualified = requireString(object.table, 'table');
    const dot = qualified.lastIndexOf('.');
    if (dot <= 0 || dot === qualified.length - 1) reject(`table is '${qualified}', expected SCHEMA.TABLE`);
    // A catalog-qualified name (CATALOG.SCHEMA.TABLE) keeps the schema next to the table.
    const schema = qualified.slice(qualified.lastIndexOf('.', dot - 1) + 1, dot);
    const table = qualified.slice(dot + 1);
    const opType = requireString(object.op_type, 'op_type');
    const op = OPS[opType] ?? reject(`op_type is '${opType}', expected I, U, D or T`);
    const commitMs = opTimestampMs(requireString(object.op_ts, 'op_ts'));
    const before = optionalObject(object.before, 'before');
    const after = optionalObject(object.after, 'after');
    if ((op === 'insert' || op === 'update') && !after) reject(`op_type ${opType} without an after image`);
    if (op === 'delete' && !before) reject('op_type D without a before image');
    if (op === 'truncate') return { kind: 'rows', rows: [{ schema, table, op, before: null, after: null, commitMs }] };
    // includePrimaryKeys=true in the formatter's properties adds the key's column names.
    const key = columnNames(object.primary_keys);
    return { kind: 'rows', rows: [{ schema, table, op, before: op === 'insert' ? null : before, after: op === 'delete' ? null : after, commitMs, ...(key ? { key } : {}) }] };
  },
};

function opTimestampMs(text: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})[ T:](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/.exec(text);
  const ms = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6])) : NaN;
  if (!Number.isFinite(ms)) reject(`op_ts is '${text}', expected 'YYYY-MM-DD HH:MM:SS[.ffffff]' (UTC)`);
  return ms + Number((match![7] ?? '0').padEnd(3, '0').slice(0, 3));
}
