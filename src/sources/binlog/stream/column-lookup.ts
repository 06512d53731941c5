// Which columns a TableMap's rows have. Under binlog_row_metadata=FULL the TableMap names them; under
// MINIMAL sluice supplies them through zongji's lookup hook, for a captured table from the schema
// history at the transaction's position (zongji's own lookup reads information_schema as it is now,
// which is wrong for any event written before the table's last change).
import { parseMysqlType, SPATIAL_TYPES } from '../../../catalog/type-mapping.ts';
import type { SourceColumn } from '../../../core/change-event.ts';
import { isTableScopedError, SluiceError } from '../../../core/errors.ts';
import type { Route, Router } from '../../../routing/router.ts';
import type { ZongJiInstance } from '../decode/zongji.ts';
import type { BinlogPosition } from '../position/binlog-position.ts';
import { describePosition } from '../position/binlog-position.ts';
import type { TableRef } from '../schema/ddl-statement.ts';
import type { SchemaTracker } from '../schema/schema-tracker.ts';
import { anonymousColumnSchemas, columnSchemasFor, hasOptionalMetadata, type TableMapEventLike } from '../schema/table-map-columns.ts';
import type { SourceQueue } from '../../source-queue.ts';

/** zongji's description of a table, as a rows event refers to it. */
export interface RawTableMap {
  parentSchema: string;
  tableName: string;
  columnSchemas: { COLUMN_NAME: string; COLUMN_TYPE: string; CHARACTER_SET_NAME: string | null }[];
  /** Indexes of the primary key's columns: the TableMap's own (FULL metadata) or the schema history's. */
  primaryKey?: number[];
}

export interface ColumnLookupOptions {
  router: Router;
  /** The schema history's reader; without one, TableMaps without names get zongji's own lookup. */
  tracker: SchemaTracker | undefined;
  /** Record DDL statements in the history from the start; otherwise from the first TableMap without names. */
  tracking: boolean;
  /**
   * Whether the server counts geometry columns in the TableMap's character set lists (MariaDB does,
   * Oracle MySQL does not, and zongji reads them as MySQL lays them out); when unknown, take it that it does.
   */
  geometryInCharsetLists?: boolean;
  /** Holds the replication socket paused while a lookup is under way. */
  queue: SourceQueue<unknown>;
  /** Gives a table up (its columns cannot be known), with where in the binlog. */
  failTarget(target: Route, error: SluiceError, at: string): void;
  /** Gives the stream up. */
  fail(error: Error): void;
}

export class ColumnLookup {
  private readonly columnsByMap = new WeakMap<object, SourceColumn[]>();
  /** Whether DDL statements are recorded in the schema history (see ColumnLookupOptions.tracking). */
  tracking: boolean;

  constructor(private readonly options: ColumnLookupOptions) {
    this.tracking = options.tracking;
  }

  /** Takes over zongji's lookup for TableMaps without names; `here` is where the transaction being read starts. */
  install(zongji: ZongJiInstance, here: () => BinlogPosition): void {
    const fromInformationSchema = zongji._fetchTableInfo.bind(zongji);
    // zongji's event has all that TableMapEventLike names; its typing here names only what zongji.ts needs.
    zongji._fetchTableInfo = (event, next) => this.fetchTableColumns(zongji, event as TableMapEventLike, next, fromInformationSchema, here);
  }

  /** The columns of a table's rows, read once per TableMap. */
  columnsOf(tableMap: RawTableMap): SourceColumn[] {
    let columns = this.columnsByMap.get(tableMap);
    if (!columns) {
      const key = new Set(tableMap.primaryKey ?? []);
      columns = tableMap.columnSchemas.map((column, index) => ({
        name: column.COLUMN_NAME,
        mysqlType: column.COLUMN_TYPE.toLowerCase(),
        charset: column.CHARACTER_SET_NAME,
        ...(key.has(index) ? { primaryKey: true as const } : {}),
      }));
      if (this.options.geometryInCharsetLists ?? true) requireDecodableLayout(tableMap, columns);
      this.columnsByMap.set(tableMap, columns);
    }
    return columns;
  }

  /**
   * Under FULL metadata the TableMap names the primary key (SIMPLE_PRIMARY_KEY / PRIMARY_KEY_WITH_PREFIX,
   * read by zongji into `primaryKey`); zongji's cached description of the table does not keep it, so it
   * is put there. Called for every TableMap, after zongji has described the table.
   */
  notePrimaryKey(zongji: ZongJiInstance, event: { tableId?: number; primaryKey?: number[] }): void {
    const cached = event.tableId === undefined ? undefined : (zongji.tableMap[event.tableId] as RawTableMap | undefined);
    if (cached && event.primaryKey !== undefined) cached.primaryKey = event.primaryKey;
  }

  /** zongji's cached descriptions of changed tables go, so that their next TableMap asks again. */
  forget(zongji: ZongJiInstance, changed: TableRef[]): void {
    const names = new Set(changed.map((ref) => `${ref.schema}.${ref.table}`.toLowerCase()));
    for (const [tableId, cached] of Object.entries(zongji.tableMap)) {
      if (cached && names.has(`${cached.parentSchema}.${cached.tableName}`.toLowerCase())) delete zongji.tableMap[Number(tableId)];
    }
  }

  /**
   * Column descriptions for a TableMap without names. zongji has paused the socket and resumes it
   * in `next`.
   */
  private fetchTableColumns(
    zongji: ZongJiInstance,
    event: TableMapEventLike,
    next: () => void,
    fromInformationSchema: (event: TableMapEventLike, next: () => void) => void,
    here: () => BinlogPosition,
  ): void {
    const { queue } = this.options;
    const resume = (): void => queue.lookupEnded(next);
    queue.lookupStarted();
    const tracker = this.options.tracker;
    // FULL metadata names the columns; zongji still asks for MariaDB's pre-10.0 temporal columns,
    // whose precision only the table definition has.
    if (!tracker || event.columnNames !== undefined) {
      fromInformationSchema(event, resume);
      return;
    }
    const schema = event.schemaName;
    const table = event.tableName;
    const decision = this.options.router.decide(schema, table);
    if (decision.kind !== 'routed') {
      if (!hasOptionalMetadata(event)) {
        fromInformationSchema(event, resume);
        return;
      }
      zongji.tableMap[event.tableId] = { columnSchemas: anonymousColumnSchemas(event), parentSchema: schema, tableName: table };
      resume();
      return;
    }
    this.tracking = true;
    const at = here();
    const giveUp = (error: unknown): void => {
      // The table's columns cannot be known here: give the table up, not the stream, when the
      // TableMap's own types let zongji read past its rows (they are skipped, unparsed by sluice).
      if (isTableScopedError(error) && hasOptionalMetadata(event)) {
        zongji.tableMap[event.tableId] = { columnSchemas: anonymousColumnSchemas(event), parentSchema: schema, tableName: table };
        this.options.failTarget(decision.target, error, describePosition(at));
        resume();
        return;
      }
      queue.lookupEnded();
      this.options.fail(error as Error);
    };
    tracker.columnsAt(schema, table, at).then((found) => {
      try {
        const columnSchemas = columnSchemasFor(event, found.schema, { table: `${schema}.${table}`, position: describePosition(at), source: found.source });
        const primaryKey = found.schema.columns.flatMap((column, index) => (column.primaryKey ? [index] : []));
        zongji.tableMap[event.tableId] = { columnSchemas, parentSchema: schema, tableName: table, ...(primaryKey.length > 0 ? { primaryKey } : {}) };
      } catch (error) {
        giveUp(error);
        return;
      }
      resume();
    }, giveUp);
  }
}

const CHARACTER_OR_BYTES_TYPE = /^(char|varchar|tinytext|text|mediumtext|longtext|binary|varbinary|tinyblob|blob|mediumblob|longblob|enum|set|json)\b/;

/**
 * zongji 0.9 misreads binlog_row_metadata=FULL for a table with a GEOMETRY column before a text or
 * binary column: MariaDB counts geometry columns in the charset list and zongji does not, so every
 * later character column gets its neighbour's charset (text read as blob, bytes read as latin1).
 * Its values would be silently wrong; stop before one is written. Oracle MySQL leaves geometry
 * columns out of the list, as zongji reads it (test/mysql-schema-change.test.ts), so there is no
 * such table there.
 */
function requireDecodableLayout(tableMap: RawTableMap, columns: readonly SourceColumn[]): void {
  const firstGeometry = columns.findIndex((column) => SPATIAL_TYPES.includes(parseMysqlType(column.mysqlType).name));
  if (firstGeometry < 0) return;
  const affected = columns.slice(firstGeometry + 1).find((column) => CHARACTER_OR_BYTES_TYPE.test(column.mysqlType));
  if (!affected) return;
  const table = `${tableMap.parentSchema}.${tableMap.tableName}`;
  throw new SluiceError(
    'SLUICE_SCHEMA_UNSUPPORTED',
    `table ${table} has a geometry column (${columns[firstGeometry]!.name}) before the text or binary column ${affected.name}: ` +
      'zongji 0.9 decodes the character sets of such columns wrongly under binlog_row_metadata=FULL, so their values would be wrong. ' +
      'Exclude the table (routing.exclude), or move the geometry columns after the text and binary ones.',
    { context: { table } },
  );
}
