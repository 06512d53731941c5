// Changes the binlog holds that sluice cannot turn into rows, and the errors that name them. None of
// them may be stepped over: a table whose change is lost this way would hold wrong data for ever.
// - DML logged as a statement (a session's binlog_format=STATEMENT or MIXED);
// - a rows event without every column (binlog_row_image=MINIMAL or NOBLOB): written as it is, the
//   missing columns would read as NULL;
// - events zongji cannot decode (MySQL's binlog_row_value_options=PARTIAL_JSON): zongji reports them
//   once and emits no rows. (Compressed transactions are decoded: decode/transaction-payload.ts.)
import { SluiceError } from '../../../core/errors.ts';

/** What a restart does and does not do for a table stopped by a change it has no rows for. */
const SKIP_AND_COPY =
  'A restart alone retries the table from where it stopped and stops again at this change: with the daemon stopped, run ' +
  '`sluice checkpoint skip-table <table>` and copy the table anew (`sluice sync`), or take a new snapshot.';

/** A DML statement on one captured table. */
export function statementDmlError(options: { source: string; target: string; verb: string; statement: string; at: string }): SluiceError {
  const { source, target, verb, statement, at } = options;
  return new SluiceError(
    'SLUICE_BINLOG_STATEMENT_DML',
    `table ${target}: a change of ${source} (${verb}) at ${at} is in the binlog as a statement (\`${shorten(statement)}\`), not as rows: ` +
      'the session that ran it had binlog_format=STATEMENT or MIXED, and sluice cannot turn a statement into rows. ' +
      'Set binlog_format=ROW in my.cnf and with SET GLOBAL binlog_format=ROW, and keep clients from setting it per session. ' +
      SKIP_AND_COPY.replace('<table>', target),
    { context: { table: target, sourceTable: source, position: at, statement: shorten(statement), setting: 'binlog_format' } },
  );
}

/** A statement that may change rows of tables that cannot be told: every captured table could be behind. */
export function unboundedStatementError(options: { verb: string; statement: string; reason: string; at: string }): SluiceError {
  const { verb, statement, reason, at } = options;
  return new SluiceError(
    'SLUICE_BINLOG_STATEMENT_DML',
    `the binlog holds at ${at} a statement that may change rows (\`${shorten(statement)}\`), logged as a statement because ` +
      `the session had binlog_format=STATEMENT or MIXED; which tables it changed cannot be told (${reason}), so no table can go on past it. ` +
      'Set binlog_format=ROW in my.cnf and with SET GLOBAL binlog_format=ROW, and keep clients from setting it per session. ' +
      'Then move the checkpoint past this statement (`sluice checkpoint set`) and copy the captured tables it may have changed anew (`sluice sync`).',
    { context: { position: at, statement: shorten(statement), verb, setting: 'binlog_format' } },
  );
}

/** LOAD DATA logged as a statement: zongji does not read its event (Execute_load_query), so its table is not known. */
export function loadDataStatementError(at: string): SluiceError {
  return unboundedStatementError({
    verb: 'LOAD DATA',
    statement: 'LOAD DATA ... (an Execute_load_query event; see SHOW BINLOG EVENTS)',
    reason: 'the event that carries it is not decoded by the binlog reader',
    at,
  });
}

/** The columns a rows event leaves out of its before and after images, by name. */
export function missingColumns(event: { numberOfColumns?: number; columns_present_bitmap?: Buffer; columns_present_bitmap2?: Buffer }, columns: readonly { COLUMN_NAME: string }[]): { before: string[]; after: string[] } {
  const count = event.numberOfColumns ?? columns.length;
  const absent = (bitmap: Buffer | undefined): string[] => {
    if (!bitmap) return [];
    const missing: string[] = [];
    for (let index = 0; index < count; index++) {
      if ((bitmap[index >> 3]! & (1 << (index & 7))) === 0) missing.push(columns[index]?.COLUMN_NAME ?? `#${index + 1}`);
    }
    return missing;
  };
  return { before: absent(event.columns_present_bitmap), after: absent(event.columns_present_bitmap2) };
}

export function partialRowImageError(options: { source: string; target: string; at: string; missing: { before: string[]; after: string[] }; op: string }): SluiceError {
  const { source, target, at, missing, op } = options;
  const parts = [
    missing.before.length > 0 ? `${missing.before.join(', ')} missing from the ${op === 'insert' ? 'row' : 'before image'}` : '',
    missing.after.length > 0 ? `${missing.after.join(', ')} missing from the after image` : '',
  ].filter((part) => part !== '');
  return new SluiceError(
    'SLUICE_BINLOG_ROW_IMAGE',
    `table ${target}: the ${op} rows event of ${source} at ${at} does not carry every column (${parts.join('; ')}): ` +
      'the session that wrote it had binlog_row_image=MINIMAL or NOBLOB, and a missing column must not be written as NULL. ' +
      'Set binlog_row_image=FULL in my.cnf and with SET GLOBAL binlog_row_image=FULL, and keep clients from setting it per session. ' +
      SKIP_AND_COPY.replace('<table>', target),
    { context: { table: target, sourceTable: source, position: at, setting: 'binlog_row_image', ...missing } },
  );
}

/** The settings behind zongji's "cannot decode" errors (zongji's unsupportedReason texts). */
const UNSUPPORTED_EVENTS = [
  { event: 'PARTIAL_UPDATE_ROWS_EVENT', setting: 'binlog_row_value_options', fix: "SET GLOBAL binlog_row_value_options='' (and in my.cnf)" },
];

/**
 * zongji's report of an event it cannot decode, as sluice's error; undefined for any other error.
 * The event's rows are not emitted and zongji reads on, so the stream must stop here: zongji does not
 * say which table the event was for, so it is the daemon that stops.
 */
export function unsupportedEventError(error: Error, server: string, at: string): SluiceError | undefined {
  const found = UNSUPPORTED_EVENTS.find((entry) => error.message.includes(entry.event));
  if (!found) return undefined;
  return new SluiceError(
    'SLUICE_BINLOG_UNSUPPORTED_EVENT',
    `${server} sent a ${found.event} after ${at}, which sluice's binlog reader cannot decode, so its rows cannot be read ` +
      `(${found.setting} is set on the server or for a session). ${found.fix}, and keep clients from setting it per session; ` +
      'then move the checkpoint past the transaction (`sluice checkpoint set`) and copy the captured tables it changed anew (`sluice sync`).',
    { cause: error, context: { server, position: at, setting: found.setting, event: found.event } },
  );
}

function shorten(statement: string): string {
  const flat = statement.replace(/\s+/g, ' ');
  return flat.length > 200 ? `${flat.slice(0, 200)}...` : flat;
}
