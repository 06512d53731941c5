// canal's flat message (canal.mq.flatMessage=true): one binlog event's rows in `data[]`, the
// changed columns' old values in `old[]` (only those), `type` INSERT/UPDATE/DELETE, `es` the binlog
// event's time in milliseconds, `mysqlType` every column's MySQL type. Values are text as canal
// printed them; binary columns are ISO-8859-1 text. DDL (`isDdl: true`) carries no rows: TRUNCATE
// becomes a truncate marker, every other statement is passed by with a log (sluice follows a new
// column when a row brings it).
import type { ChangeOp } from '../../../core/change-event.ts';
import { type JsonObject, type JsonValue } from '../../../core/exact-json.ts';
import { columnNames, optionalObject, reject, requireInteger, requireObject, requireString, type DecodedMessage, type FormatDecoder, type KafkaRow } from './kafka-row.ts';

const OPS: Record<string, ChangeOp> = { INSERT: 'insert', UPDATE: 'update', DELETE: 'delete' };

export const canalJson: FormatDecoder = {
  bytes: 'latin1',
  decode(message: JsonValue): DecodedMessage {
    const object = requireObject(message, 'the message');
    const type = requireString(object.type, 'type');
    const schema = requireString(object.database, 'database');
    const table = requireString(object.table, 'table');
    const commitMs = requireInteger(object.es ?? object.ts, 'es');
    if (object.isDdl === true) {
      if (type === 'TRUNCATE') return { kind: 'rows', rows: [{ schema, table, op: 'truncate', before: null, after: null, commitMs }] };
      return { kind: 'skip', reason: `DDL ${type} of ${schema}.${table} (${typeof object.sql === 'string' ? object.sql.slice(0, 200) : ''})` };
    }
    const op = OPS[type] ?? reject(`type is '${type}', expected INSERT, UPDATE or DELETE (or isDdl: true)`);
    const data = Array.isArray(object.data) ? object.data : reject('data is not an array of rows');
    const old = Array.isArray(object.old) ? object.old : [];
    if (op === 'update' && old.length !== data.length) reject(`an UPDATE with ${data.length} rows in data and ${old.length} in old`);
    const mysqlTypes = optionalObject(object.mysqlType, 'mysqlType');
    const types = mysqlTypes ? new Map(Object.entries(mysqlTypes).map(([name, value]) => [name, requireString(value, `mysqlType.${name}`).toLowerCase()])) : undefined;
    const key = columnNames(object.pkNames);
    const rows = data.map((item, index): KafkaRow => {
      const image = requireObject(item, `data[${index}]`);
      const row: KafkaRow = { schema, table, op, before: null, after: null, commitMs, ...(types ? { types } : {}), ...(key ? { key } : {}) };
      if (op === 'insert') row.after = image;
      else if (op === 'delete') row.before = image;
      else {
        // old[] holds only the columns the update changed: the rest were as they are now.
        const changed: JsonObject = requireObject(old[index], `old[${index}]`);
        row.before = { ...image, ...changed };
        row.after = image;
      }
      return row;
    });
    return { kind: 'rows', rows };
  },
};
