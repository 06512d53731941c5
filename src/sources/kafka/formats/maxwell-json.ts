// Maxwell's JSON: one row per message, `type` insert/update/delete (bootstrap-insert for its
// bootstrapping, a read), `data` the row as it is (deleted: as it was), `old` the previous values of
// the changed columns only, `ts` seconds since the epoch. DDL messages (`table-create`,
// `table-alter`, `database-*`, with `sql`) and the bootstrap's start/complete markers carry no rows
// and are passed by with a log.
import type { ChangeOp } from '../../../core/change-event.ts';
import { isJsonObject, type JsonValue } from '../../../core/exact-json.ts';
import { columnNames, optionalObject, reject, requireInteger, requireObject, requireString, type DecodedMessage, type FormatDecoder } from './kafka-row.ts';

const OPS: Record<string, ChangeOp> = { insert: 'insert', update: 'update', delete: 'delete', 'bootstrap-insert': 'read' };
const NO_ROWS = new Set(['bootstrap-start', 'bootstrap-complete', 'table-create', 'table-alter', 'table-drop', 'database-create', 'database-alter', 'database-drop']);

export const maxwellJson: FormatDecoder = {
  // Maxwell writes BINARY/BLOB columns base64-encoded.
  bytes: 'base64',
  // Its hash key names the primary key columns (pk.<column>) when the message does not.
  readsKey: true,
  decode(message: JsonValue, key?: JsonValue): DecodedMessage {
    const object = requireObject(message, 'the message');
    const type = requireString(object.type, 'type');
    const schema = requireString(object.database, 'database');
    if (NO_ROWS.has(type)) return { kind: 'skip', reason: `${type} of ${schema}${typeof object.table === 'string' ? `.${object.table}` : ''}` };
    const op = OPS[type] ?? reject(`type is '${type}', expected insert, update, delete or bootstrap-insert`);
    const table = requireString(object.table, 'table');
    // Maxwell's ts is in seconds; ts_ms (output_commit_info) is kept where present.
    const commitMs = object.ts_ms !== undefined ? requireInteger(object.ts_ms, 'ts_ms') : requireInteger(object.ts, 'ts') * 1000;
    const data = requireObject(object.data, 'data');
    // With output_primary_key_columns Maxwell names the key; its message key ({"database", "table", "pk.id": 1}) does too.
    const named = columnNames(object.primary_key_columns) ?? maxwellKeyColumns(key);
    const base = { schema, table, op, commitMs, ...(named ? { key: named } : {}) };
    if (op === 'delete') return { kind: 'rows', rows: [{ ...base, before: data, after: null }] };
    if (op === 'update') {
      const old = optionalObject(object.old, 'old') ?? {};
      return { kind: 'rows', rows: [{ ...base, before: { ...data, ...old }, after: data }] };
    }
    return { kind: 'rows', rows: [{ ...base, before: null, after: data }] };
  },
};

/** The key columns of Maxwell's hash message key: its `pk.<column>` fields. */
function maxwellKeyColumns(key: JsonValue | undefined): readonly string[] | undefined {
  if (!isJsonObject(key)) return undefined;
  const names = Object.keys(key).filter((name) => name.startsWith('pk.') && name.length > 3).map((name) => name.slice(3));
  return names.length > 0 ? names : undefined;
}
