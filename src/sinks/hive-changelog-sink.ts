// Writes the changes routed to Hive tables as files in staging (a hidden `.data/` folder under each
// table, which Hive and Hadoop skip), and at pre-commit closes them and returns what the checkpoint
// must commit: each staging file renamed into its partition, each partition registered.
import type { Logger } from 'pino';
import type { Catalog, HiveColumn, StorageFormat, TableDefinition } from '../catalog/catalog.ts';
import { reconcileHiveType } from '../catalog/type-evolution.ts';
import { hiveTypeFor } from '../catalog/type-mapping.ts';
import type { HeldFile, PendingCommit } from './hive-commits.ts';
import type { CellValue, ChangeEvent, SourceColumn, XaStep } from '../core/change-event.ts';
import { joinPath, type FileSystem } from '../filesystem/filesystem.ts';
import { routeKey, type Route } from '../routing/router.ts';
import {
  formatEventTime,
  metadataColumns,
  partitionColumns,
  partitionPath,
  partitionValues,
  type PartitionScheme,
} from './changelog-layout.ts';
import { SluiceError } from '../core/errors.ts';
import { SETTLED } from '../core/settled.ts';
import type { SluiceMetrics, Tally } from '../runtime/metrics.ts';
import type { SchemaPolicy } from '../config/schema.ts';
import { textFormat, type RowFileFormat, type RowFileWriter } from './row-file-format.ts';
import { HeldXaFiles } from './xa-held-files.ts';
import { keyIndexes, movesKey, splitKeyMove } from './key-move.ts';
import { DEFAULT_METADATA_NAMES, isDefaultNames, METADATA_ROLES, metadataNamesOf, metadataNameSet, type MetadataNames } from '../catalog/metadata-names.ts';

export const STAGING_DIR = '.data';

export interface HiveChangelogSinkOptions {
  fs: FileSystem;
  catalog: Catalog;
  /** Warehouse root on the FileSystem; tables live at '<warehouse>/<db>.db/<table>'. */
  warehouse: string;
  format: StorageFormat;
  partition: PartitionScheme;
  /** A staging file is closed and a new one begun past this size. */
  rollBytes: number;
  /** ... and once it has been open this long (0: never). */
  rollSeconds: number;
  /** Row formats by name; text is always there. */
  formats?: Partial<Record<StorageFormat, RowFileFormat>>;
  /** The channel index in file names; the binlog is one channel. */
  channel: number;
  /** This run's id, part of every file name, so that no name is reused after a crash. */
  jobId: string;
  logger: Logger;
  metrics?: SluiceMetrics;
  /** The prepared XA transactions the newest checkpoint record holds files for. */
  preparedXa?: Record<string, HeldFile[]>;
  /** The metadata column names a new table gets, and the config key that says so; the defaults when absent. */
  metadataNames?: (target: Route, event: ChangeEvent) => ConfiguredMetadataNames;
  /** What a schema change of the event's source table does to its Hive table; `evolve` when absent. */
  schemaPolicy?: (event: ChangeEvent) => SchemaPolicy;
}

export interface ConfiguredMetadataNames {
  names: MetadataNames;
  /** The config key the names come from (`sink.metadataColumns`, `routing.rules[2].metadataColumns`), for errors. */
  key: string;
}

const DEFAULT_CONFIGURED: ConfiguredMetadataNames = { names: DEFAULT_METADATA_NAMES, key: 'sink.metadataColumns' };

/** The files a table is writing for one stream of rows: the ordinary one, or one XA transaction's. */
interface FileSet {
  open: Map<string, StagedFile>;
  closed: StagedFile[];
}

interface StagedFile {
  writer: RowFileWriter;
  /** The table's column layout when the file was opened; a file never changes layout. */
  layoutVersion: number;
  /**
   * Set once the file has been open rollSeconds, by a timer: the age is asked after every row, and a
   * clock read per row was ~1% of the daemon's CPU.
   */
  expired: boolean;
  expiry: NodeJS.Timeout | undefined;
  stagingPath: string;
  finalPath: string;
  partition: Record<string, string>;
  set: FileSet;
  firstSequence: bigint | number;
  /** A rolled file's close (flush, fsync or upload) under way; closeAll waits for it. */
  closing?: Promise<void>;
}

export class HiveChangelogSink {
  private readonly tables = new Map<string, TableWriter>();
  private fileIndex = 0;
  rowsWritten = 0;
  private readonly xa: HeldXaFiles;
  /** The table the last row went to (cleared when a table is discarded). */
  private lastTarget: Route | undefined;
  private lastTable: TableWriter | undefined;
  private readonly nextFileIndex = (): number => this.fileIndex++;

  constructor(private readonly options: HiveChangelogSinkOptions) {
    this.xa = new HeldXaFiles(options.preparedXa);
  }

  /**
   * Writes one change into staging for the target table; nothing is visible until the checkpoint commits.
   * Returns SETTLED when the row is written already: not async, for the common row (see core/settled.ts).
   */
  write(target: Route, event: ChangeEvent, checkpointId: number): Promise<void> {
    // The router hands out one Route object per target, and rows come in runs of one table.
    if (target !== this.lastTarget) return this.writeOpening(target, event, checkpointId);
    const written = this.lastTable!.write(event, checkpointId, this.nextFileIndex);
    if (written !== SETTLED) return written.then(this.countRow);
    this.rowsWritten++;
    return SETTLED;
  }

  private readonly countRow = (): void => {
    this.rowsWritten++;
  };

  /** A row for another table than the last one: its writer, opened (and its table created) if need be. */
  private async writeOpening(target: Route, event: ChangeEvent, checkpointId: number): Promise<void> {
    const key = routeKey(target);
    let table = this.tables.get(key);
    if (!table) {
      // A truncate marker says the rows before it are gone: a table not created yet has none, and
      // a marker has no columns to create one with.
      if (event.op === 'truncate' && !(await this.options.catalog.getTable(target.database, target.table))) return;
      table = await TableWriter.open(target, event, this.options);
      this.tables.set(key, table);
    }
    this.lastTarget = target;
    this.lastTable = table;
    await table.write(event, checkpointId, this.nextFileIndex);
    this.rowsWritten++;
  }

  /**
   * Closes every staging file (durably) and returns the commits that make them visible, with those
   * of XA transactions committed since the last checkpoint. Files of prepared XA transactions stay
   * staged: `preparedXa` is what the record names of them.
   */
  async preCommit(): Promise<PendingCommit[]> {
    const commits: PendingCommit[] = [];
    for (const table of this.tables.values()) commits.push(...(await table.preCommit()));
    commits.push(...this.xa.takeReleased());
    return commits;
  }

  /** The prepared XA transactions the checkpoint being taken records, with their files. */
  preparedXa(): Record<string, HeldFile[]> | undefined {
    return this.xa.recorded();
  }

  /** After the record is written: files of rolled-back XA transactions are deleted. */
  async afterRecord(): Promise<void> {
    await this.xa.deleteDropped(this.options.fs);
  }

  /**
   * An XA transaction's step, at its boundary. At PREPARE its rows (in files of their own) are closed
   * and held; COMMIT makes them part of the next checkpoint's commits; ROLLBACK drops them.
   */
  async onXa(step: XaStep, at: string): Promise<void> {
    if (step.action === 'prepare' || step.action === 'one-phase') {
      const files: HeldFile[] = [];
      for (const table of this.tables.values()) files.push(...(await table.closeXa(step.xid)));
      this.xa.prepare(step.xid, files);
      if (step.action === 'prepare') return;
    }
    const known = step.action === 'rollback' ? this.xa.rollback(step.xid) : this.xa.commit(step.xid);
    if (known) {
      this.options.logger.info({ xid: step.xid, at, held: this.xa.size }, step.action === 'rollback' ? 'XA transaction rolled back: its rows are dropped' : 'XA transaction committed: its rows land with the next checkpoint');
      return;
    }
    this.options.logger.warn(
      { xid: step.xid, at },
      `XA ${step.action === 'rollback' ? 'ROLLBACK' : 'COMMIT'} of a transaction this stream did not see prepared: it was prepared before the position ` +
        'the stream started from (the first start, or a moved checkpoint), or it was already handled before a stopped table was re-read. ' +
        (step.action === 'rollback' ? 'Nothing to do.' : 'If it changed captured tables before that position, those rows are not in Hive.'),
    );
  }

  /** Drops open staging files without committing them (the next start deletes them). */
  async abort(): Promise<void> {
    for (const table of this.tables.values()) await table.abort();
  }

  /**
   * Gives up what a table has staged since the last checkpoint, which no checkpoint will commit now:
   * the table was stopped, and a later run writes those changes again.
   */
  async discard(target: Route, readAgainFrom: bigint): Promise<void> {
    const key = routeKey(target);
    const table = this.tables.get(key);
    this.tables.delete(key);
    this.lastTarget = undefined;
    this.lastTable = undefined;
    await table?.discard(this.options.fs);
    // Held files of XA transactions prepared before the table's point stay: no later read brings
    // their rows back, and they are the changes before that point the table keeps.
    for (const path of this.xa.discard(target.database, target.table, readAgainFrom)) await this.options.fs.delete(path, false).catch(() => undefined);
  }
}

class TableWriter {
  /** The ordinary stream's files. */
  private readonly main: FileSet = { open: new Map(), closed: [] };
  /** Each XA transaction's files, until its XA PREPARE. */
  private readonly xaSets = new Map<string, FileSet>();
  private readonly layoutByColumns = new WeakMap<readonly SourceColumn[], number[]>();
  /** Per column list, where the recorded key's columns are (key-move.ts); renewed when the key changes. */
  private keyByColumns = new WeakMap<readonly SourceColumn[], readonly number[]>();
  private hiveTypes: string[];
  /** Bumped whenever the table's columns change, so that open files are rolled. */
  private layoutVersion = 0;
  private readonly format: RowFileFormat;
  /** Where the metadata columns start; stable, since ADD COLUMNS appends after them. */
  private readonly metadataOffset: number;
  /** The names of the table's metadata columns (recorded with it: catalog/metadata-names.ts). */
  private readonly metadataSet: ReadonlySet<string>;
  /** The table's own partitioning, which may predate the current configuration. */
  private readonly scheme: PartitionScheme;
  // Bumped for every row: plain tallies, added to the counters whenever they are read.
  private readonly rowsCounter: Tally | undefined;
  private readonly bytesCounter: Tally | undefined;

  private constructor(
    private definition: TableDefinition,
    private readonly options: HiveChangelogSinkOptions,
    /** The config key that names the metadata columns of this table, for errors. */
    private readonly metadataKey: string,
  ) {
    this.hiveTypes = definition.columns.map((column) => column.type);
    const format = definition.format === 'text' ? textFormat : options.formats?.[definition.format];
    if (!format) {
      throw new SluiceError('SLUICE_CATALOG', `table ${definition.database}.${definition.name} is stored as ${definition.format}, which this build cannot write`, {
        context: { table: `${definition.database}.${definition.name}` },
      });
    }
    this.format = format;
    const names = metadataNamesOf(definition);
    this.metadataSet = metadataNameSet(names);
    this.metadataOffset = definition.columns.findIndex((column) => column.name === names.op);
    const [day, hour] = definition.partitionColumns;
    this.scheme = { granularity: hour ? 'hour' : 'day', dayColumn: day?.name ?? options.partition.dayColumn, hourColumn: hour?.name ?? options.partition.hourColumn };
    const table = `${definition.database}.${definition.name}`;
    this.rowsCounter = options.metrics?.tally(options.metrics.rowsWritten, { table });
    this.bytesCounter = options.metrics?.tally(options.metrics.bytesWritten, { table });
  }

  static async open(target: Route, event: ChangeEvent, options: HiveChangelogSinkOptions): Promise<TableWriter> {
    const { columns } = event;
    const configured = options.metadataNames?.(target, event) ?? DEFAULT_CONFIGURED;
    const existing = await options.catalog.getTable(target.database, target.table);
    const wanted: TableDefinition = {
      database: target.database,
      name: target.table,
      columns: [...columns.map(toHiveColumn), ...metadataColumns(configured.names)],
      partitionColumns: partitionColumns(options.partition),
      format: options.format,
      location: joinPath(options.warehouse, `${target.database}.db`, target.table),
      ...primaryKeyOf(columns),
      ...(isDefaultNames(configured.names) ? {} : { metadataNames: configured.names }),
    };
    // Before the table is made: a table with a column twice is no table at all.
    requireNoClash(existing ?? wanted, columns, options.partition, configured.key);
    const definition = existing ?? (await options.catalog.createTable(wanted));
    requireChangelogLayout(definition);
    requireSameMetadataNames(definition, configured);
    if (!existing) options.logger.info({ table: routeKey(target), location: definition.location }, 'table created');
    return new TableWriter(definition, options, configured.key);
  }

  /** Not async: the common row (layout known, its file open) costs no promise (see core/settled.ts). */
  write(event: ChangeEvent, checkpointId: number, nextFileIndex: () => number): Promise<void> {
    try {
      const layout = event.columns === this.lastColumns ? this.lastLayout : this.layoutOf(event.columns);
      if (layout && event.op === 'update' && this.movesKey(event)) return this.writeKeyMove(event, checkpointId, nextFileIndex);
      const file = layout && this.setOf(event.xid).open.get(this.partitionPathOf(event.commitTs));
      if (!file || file.layoutVersion !== this.layoutVersion) return this.writeOpening(event, checkpointId, nextFileIndex);
      return this.writeRow(file, this.valuesOf(event, layout));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // Rows come in runs of one column list (one per TableMap): its layout, without the WeakMap per row.
  private lastColumns: readonly SourceColumn[] | undefined;
  private lastLayout: number[] | undefined;

  private layoutOf(columns: readonly SourceColumn[]): number[] | undefined {
    const layout = this.layoutByColumns.get(columns);
    if (layout) {
      this.lastColumns = columns;
      this.lastLayout = layout;
    }
    return layout;
  }

  /** A row whose layout is new, or whose file is to be opened (or rolled for a new layout) first. */
  private async writeOpening(event: ChangeEvent, checkpointId: number, nextFileIndex: () => number): Promise<void> {
    const layout =
      this.layoutByColumns.get(event.columns) ?? (await this.layoutFor(event.columns, describeEventPosition(event), this.options.schemaPolicy?.(event) ?? 'evolve'));
    // Only now is the key known that this column list records (layoutFor follows a key change).
    if (event.op === 'update' && this.movesKey(event)) return this.writeKeyMove(event, checkpointId, nextFileIndex);
    const set = this.setOf(event.xid);
    let file = set.open.get(this.partitionPathOf(event.commitTs));
    if (file && file.layoutVersion !== this.layoutVersion) {
      await this.roll(file);
      file = undefined;
    }
    file ??= await this.fileFor(set, partitionValues(event.commitTs, this.scheme), checkpointId, nextFileIndex, event.sequence);
    await this.writeRow(file, this.valuesOf(event, layout));
  }

  /** Whether an update changed the row's primary key (key-move.ts). */
  private movesKey(event: ChangeEvent): boolean {
    let key = this.keyByColumns.get(event.columns);
    if (!key) {
      key = keyIndexes(event.columns, this.definition.primaryKey);
      this.keyByColumns.set(event.columns, key);
    }
    return movesKey(event, key);
  }

  /** A key move, as the old key's delete and the new key's update (neither is a move again). */
  private async writeKeyMove(event: ChangeEvent, checkpointId: number, nextFileIndex: () => number): Promise<void> {
    const [deleted, updated] = splitKeyMove(event);
    await this.write(deleted, checkpointId, nextFileIndex);
    await this.write(updated, checkpointId, nextFileIndex);
  }

  /** The metadata columns whose value stays the same over a run of rows: all but the sequence (see valuesOf). */
  private get repeating(): number[] {
    const base = this.metadataOffset;
    return [base, base + 1, base + 2, base + 4];
  }

  /** The table's row: the event's values in the table's column order, then the metadata columns. */
  private valuesOf(event: ChangeEvent, layout: readonly number[]): CellValue[] {
    const image = event.after ?? event.before ?? [];
    const values: CellValue[] = new Array(this.hiveTypes.length);
    for (let index = 0; index < layout.length; index++) {
      const sourceIndex = layout[index]!;
      values[index] = sourceIndex >= 0 ? (image[sourceIndex] ?? null) : null;
    }
    const base = this.metadataOffset;
    values[base] = event.op;
    values[base + 1] = this.eventTimeOf(event.commitTs);
    values[base + 2] = event.position.gtid ?? `${event.position.file}:${event.position.offset}`;
    values[base + 3] = event.sequence.toString();
    values[base + 4] = this.sourceNameOf(event.schema, event.table);
    return values;
  }

  private writeRow(file: StagedFile, values: CellValue[]): Promise<void> {
    const bytesBefore = file.writer.bytesWritten;
    const written = file.writer.write(values);
    // Counted once the file has the row, as its size then tells the bytes.
    if (written !== SETTLED) return written.then(() => this.afterRow(file, bytesBefore));
    return this.afterRow(file, bytesBefore);
  }

  private afterRow(file: StagedFile, bytesBefore: number): Promise<void> {
    this.rowsCounter?.add();
    this.bytesCounter?.add(file.writer.bytesWritten - bytesBefore);
    if (file.writer.bytesWritten >= this.options.rollBytes || file.expired) return this.roll(file);
    return SETTLED;
  }

  // Several source tables may feed one table, but in runs: the name is built once per run.
  private lastSourceSchema: string | undefined;
  private lastSourceTable: string | undefined;
  private lastSourceName = '';

  private sourceNameOf(schema: string, table: string): string {
    if (schema !== this.lastSourceSchema || table !== this.lastSourceTable) {
      this.lastSourceSchema = schema;
      this.lastSourceTable = table;
      this.lastSourceName = `${schema}.${table}`;
    }
    return this.lastSourceName;
  }

  // A binlog timestamp has whole seconds, and a stream has long runs of the same second: format once.
  private lastTs = Number.NaN;
  private lastEventTime = '';
  private lastPartitionPath = '';

  private eventTimeOf(commitTs: number): string {
    this.rememberTs(commitTs);
    return this.lastEventTime;
  }

  private partitionPathOf(commitTs: number): string {
    this.rememberTs(commitTs);
    return this.lastPartitionPath;
  }

  private rememberTs(commitTs: number): void {
    if (commitTs === this.lastTs) return;
    this.lastTs = commitTs;
    this.lastEventTime = formatEventTime(commitTs);
    this.lastPartitionPath = partitionPath(partitionValues(commitTs, this.scheme));
  }

  /**
   * For each table column, the index of the event column whose values it takes, or -1. What a
   * column list that differs from the table's does, is the table's schema-change policy:
   * `evolve` adds a new column (ALTER TABLE ... ADD COLUMNS) and widens a type Hive can widen, and
   * stops the table at one it cannot; `lenient` writes such a column's values into a new column
   * `<name>_<type>` instead of stopping; `ignore` adds no column (the new one's values are left
   * out) but still widens types, since a value must be written exactly; `exception` stops the table
   * at any difference. A column dropped at the source stays in Hive (NULL from then on) under all
   * but `exception`.
   */
  private async layoutFor(columns: readonly SourceColumn[], position: string, policy: SchemaPolicy): Promise<number[]> {
    const cached = this.layoutByColumns.get(columns);
    if (cached) return cached;
    requireNoClash(this.definition, columns, this.options.partition, this.metadataKey);
    // A truncate marker has no columns (NO_COLUMNS): it is no schema change.
    if (policy === 'exception' && columns.length > 0) this.requireUnchanged(columns, position);
    const known = new Set(this.definition.columns.map((column) => column.name));
    const added = policy === 'ignore' ? [] : columns.filter((column) => !known.has(column.name.toLowerCase())).map(toHiveColumn);
    if (added.length > 0) await this.addColumns(added);
    await this.followKeyChange(columns);
    const redirected = await this.followTypeChanges(columns, position, policy);
    const byName = new Map(columns.map((column, index) => [redirected.get(column.name.toLowerCase()) ?? column.name.toLowerCase(), index]));
    const layout = this.definition.columns.map((column) =>
      this.metadataSet.has(column.name) ? -1 : (byName.get(column.name) ?? -1),
    );
    this.layoutByColumns.set(columns, layout);
    return layout;
  }

  /**
   * A primary key the source gained or changed (or one a table created without it now shows) is
   * recorded, for the current-state view. A column list without a key never erases one: under MINIMAL
   * metadata, columns worked out from a DDL statement carry no key marks.
   */
  private async followKeyChange(columns: readonly SourceColumn[]): Promise<void> {
    const key = primaryKeyOf(columns).primaryKey;
    if (!key || key.join(',') === this.definition.primaryKey?.join(',')) return;
    const { database, name } = this.definition;
    await this.options.catalog.setPrimaryKey(database, name, key);
    this.options.logger.info({ table: `${database}.${name}`, from: this.definition.primaryKey ?? null, to: key }, 'primary key recorded');
    this.definition = { ...this.definition, primaryKey: key };
    this.keyByColumns = new WeakMap();
  }

  private async addColumns(added: HiveColumn[]): Promise<void> {
    const { database, name } = this.definition;
    await this.options.catalog.addColumns(database, name, added);
    this.definition = { ...this.definition, columns: [...this.definition.columns, ...added] };
    this.hiveTypes = this.definition.columns.map((column) => column.type);
    this.layoutVersion++;
    this.options.logger.info({ table: `${database}.${name}`, added: added.map((column) => column.name) }, 'columns added');
  }

  /** `exception`: the source's columns must be the table's, name for name and type for type. */
  private requireUnchanged(columns: readonly SourceColumn[], position: string): void {
    const { database, name } = this.definition;
    const sourceColumns = this.definition.columns.filter((column) => !this.metadataSet.has(column.name));
    const incoming = new Map(columns.map((column) => [column.name.toLowerCase(), hiveTypeFor(column.mysqlType)]));
    const added = [...incoming.keys()].filter((column) => !sourceColumns.some((existing) => existing.name === column));
    const dropped = sourceColumns.filter((column) => !incoming.has(column.name)).map((column) => column.name);
    const retyped = sourceColumns.filter((column) => incoming.has(column.name) && reconcileHiveType(column.type, incoming.get(column.name)!).kind !== 'keep');
    if (added.length + dropped.length + retyped.length === 0) return;
    const changes = [
      added.length > 0 ? `added ${added.join(', ')}` : '',
      dropped.length > 0 ? `dropped ${dropped.join(', ')}` : '',
      ...retyped.map((column) => `${column.name} ${column.type} -> ${incoming.get(column.name)}`),
    ].filter((text) => text !== '');
    throw new SluiceError(
      'SLUICE_SCHEMA_UNSUPPORTED',
      `the source of ${database}.${name} changed its columns at binlog position ${position} (${changes.join('; ')}), and the table's ` +
        'schema-change policy is exception (schemaChanges). Nothing after the last checkpoint was committed; change the Hive table to ' +
        'match (or choose another policy) and restart: the events continue from the last checkpoint.',
      { context: { table: `${database}.${name}`, position } },
    );
  }

  /**
   * A column whose MySQL type changed: keep, widen (ALTER TABLE ... CHANGE COLUMN), or stop; under
   * `lenient`, a type Hive cannot widen goes into a column of its own. Returns those redirections:
   * source column -> the Hive column that takes its values now.
   */
  private async followTypeChanges(columns: readonly SourceColumn[], position: string, policy: SchemaPolicy): Promise<Map<string, string>> {
    const { database, name } = this.definition;
    const redirected = new Map<string, string>();
    for (const column of columns) {
      const hiveName = column.name.toLowerCase();
      const current = this.definition.columns.find((existing) => existing.name === hiveName);
      if (!current) continue;
      const incoming = hiveTypeFor(column.mysqlType);
      let decision = reconcileHiveType(current.type, incoming);
      if (decision.kind === 'keep') continue;
      let target = current;
      if (decision.kind === 'incompatible' && policy === 'lenient') {
        // Named after the type, so a restart finds the column again, and the old column keeps the old values.
        const other = `${hiveName}_${incoming.replace(/[^a-z0-9]+/g, '_').replace(/_+$/, '')}`;
        redirected.set(hiveName, other);
        const existing = this.definition.columns.find((column) => column.name === other);
        if (!existing) {
          await this.addColumns([{ name: other, type: incoming }]);
          continue;
        }
        target = existing;
        decision = reconcileHiveType(existing.type, incoming);
        if (decision.kind === 'keep') continue;
      }
      if (decision.kind === 'incompatible') {
        throw new SluiceError(
          'SLUICE_SCHEMA_UNSUPPORTED',
          `column ${target.name} of ${database}.${name} is ${target.type} in Hive, and the source now sends ${column.mysqlType} (${incoming}) ` +
            `at binlog position ${position}: Hive cannot hold both. Nothing after the last checkpoint was committed; ` +
            "change the Hive column (or exclude the table, or give it schemaChanges: lenient) and restart: the events continue from the last checkpoint.",
          { context: { table: `${database}.${name}`, sourceColumn: column.name, position } },
        );
      }
      const widened = decision.type;
      await this.options.catalog.changeColumnType(database, name, target.name, widened);
      this.definition = {
        ...this.definition,
        columns: this.definition.columns.map((existing) => (existing.name === target.name ? { ...existing, type: widened } : existing)),
      };
      this.hiveTypes = this.definition.columns.map((existing) => existing.type);
      this.layoutVersion++;
      this.options.logger.info({ table: `${database}.${name}`, column: target.name, from: target.type, to: widened, position }, 'column type widened');
    }
    return redirected;
  }

  private setOf(xid: string | undefined): FileSet {
    if (xid === undefined) return this.main;
    let set = this.xaSets.get(xid);
    if (!set) {
      set = { open: new Map(), closed: [] };
      this.xaSets.set(xid, set);
    }
    return set;
  }

  /** The close of this table's last rolled file, while it may still be under way. */
  private closing: Promise<void> | undefined;

  /**
   * Closes a file early (size, age, layout change); it stays staged until the checkpoint. The stream
   * goes on while the file is made durable (its fsync took ~60 ms a roll in the binlog benchmark, a
   * WebHDFS upload takes longer): the checkpoint waits for it (closeAll) before it records the file.
   * One close at a time per table: the next roll waits for the last one and meets its error.
   */
  private async roll(file: StagedFile): Promise<void> {
    file.set.open.delete(partitionPath(file.partition));
    clearTimeout(file.expiry);
    await this.closing;
    const closing = file.writer.close();
    // Met where it is awaited (the next roll, closeAll, abort); until then it must not count as unhandled.
    closing.catch(() => undefined);
    file.closing = closing;
    this.closing = closing;
    file.set.closed.push(file);
  }

  private async fileFor(set: FileSet, partition: Record<string, string>, checkpointId: number, nextFileIndex: () => number, firstSequence: bigint | number): Promise<StagedFile> {
    const path = partitionPath(partition);
    const current = set.open.get(path);
    if (current) return current;
    const { channel, jobId } = this.options;
    const name = `${channel}.${jobId}.${checkpointId}-${nextFileIndex()}${this.format.extension}`;
    const stagingPath = joinPath(this.definition.location, STAGING_DIR, path, name);
    const finalPath = joinPath(this.definition.location, path, name);
    const writer = this.format.open(await this.options.fs.create(stagingPath), this.definition.columns, this.repeating);
    const file: StagedFile = { writer, layoutVersion: this.layoutVersion, expired: false, expiry: undefined, stagingPath, finalPath, partition, set, firstSequence };
    if (this.options.rollSeconds > 0) expireAfter(file, this.options.rollSeconds * 1000);
    set.open.set(path, file);
    return file;
  }

  /** Closes (durably) every file of the set and returns them, the set emptied. */
  private static async closeAll(set: FileSet): Promise<StagedFile[]> {
    for (const file of set.closed) await file.closing;
    for (const file of set.open.values()) {
      clearTimeout(file.expiry);
      await file.writer.close();
      set.closed.push(file);
    }
    set.open.clear();
    return set.closed.splice(0);
  }

  /** XA PREPARE: the transaction's files, closed, to be held until its outcome. */
  async closeXa(xid: string): Promise<HeldFile[]> {
    const set = this.xaSets.get(xid);
    if (!set) return [];
    this.xaSets.delete(xid);
    const { database, name, location } = this.definition;
    return (await TableWriter.closeAll(set)).map((file) => ({
      from: file.stagingPath,
      to: file.finalPath,
      database,
      table: name,
      values: file.partition,
      location: joinPath(location, partitionPath(file.partition)),
      firstSequence: file.firstSequence.toString(),
    }));
  }

  async preCommit(): Promise<PendingCommit[]> {
    const closed = await TableWriter.closeAll(this.main);
    const commits: PendingCommit[] = [];
    const partitions = new Map<string, Record<string, string>>();
    for (const file of closed) {
      commits.push({ kind: 'rename', from: file.stagingPath, to: file.finalPath });
      partitions.set(partitionPath(file.partition), file.partition);
    }
    for (const [path, values] of partitions) {
      commits.push({
        kind: 'partition',
        database: this.definition.database,
        table: this.definition.name,
        values,
        location: joinPath(this.definition.location, path),
      });
    }
    return commits;
  }

  private get sets(): FileSet[] {
    return [this.main, ...this.xaSets.values()];
  }

  async abort(): Promise<void> {
    // A close under way writes (or uploads) no more once this returns: discard deletes what it wrote.
    await this.closing?.catch(() => undefined);
    for (const set of this.sets) {
      for (const file of set.open.values()) {
        clearTimeout(file.expiry);
        await file.writer.abort();
      }
      set.open.clear();
      set.closed.length = 0;
    }
    this.xaSets.clear();
  }

  async discard(fs: FileSystem): Promise<void> {
    const staged = this.sets.flatMap((set) => [...set.open.values(), ...set.closed]).map((file) => file.stagingPath);
    await this.abort();
    // Not needed for correctness (no record names them, and the next start deletes all staging), but
    // a table may stay stopped for long: do not keep its dead files around until then.
    for (const path of staged) await fs.delete(path, false).catch(() => undefined);
  }
}

// The longest delay setTimeout takes: a longer one fires at once (Node's TimeoutOverflowWarning).
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Sets `file.expired` once `ms` have passed, in steps setTimeout can take; unref'd, an open file never keeps the process alive. */
function expireAfter(file: StagedFile, ms: number): void {
  const step = Math.min(ms, MAX_TIMER_MS);
  file.expiry = setTimeout(() => {
    if (ms > step) expireAfter(file, ms - step);
    else file.expired = true;
  }, step).unref();
}

/** A table that exists but is not a sluice changelog table is never written into. */
function requireChangelogLayout(definition: TableDefinition): void {
  const names = definition.columns.map((column) => column.name);
  const metadata = metadataColumns(metadataNamesOf(definition));
  const start = names.indexOf(metadata[0]!.name);
  const fits = start >= 0 && metadata.every((column, index) => names[start + index] === column.name) && definition.partitionColumns.length > 0;
  if (fits) return;
  const table = `${definition.database}.${definition.name}`;
  throw new SluiceError(
    'SLUICE_CATALOG',
    `table ${table} exists but is not a sluice changelog table: it has columns (${names.join(', ')}) partitioned by ` +
      `(${definition.partitionColumns.map((column) => column.name).join(', ') || 'nothing'}); sluice needs the source columns followed by ` +
      `(${metadata.map((column) => column.name).join(', ')}) and a partition column. Route the changes to another table, or drop this one.`,
    { context: { table } },
  );
}

/**
 * A source column may not share its name with a partition column or a metadata column: Hive refuses
 * the table, and the values would shadow each other. Stop with a way out rather than guess.
 * `metadataKey`: the config key that names the metadata columns of new tables.
 */
function requireNoClash(definition: TableDefinition, columns: readonly SourceColumn[], scheme: PartitionScheme, metadataKey: string): void {
  const names = metadataNamesOf(definition);
  const reserved = new Map<string, string>([
    ...definition.partitionColumns.map((column) => [column.name, `the partition column (sink.${column.name === scheme.hourColumn ? 'hourColumn' : 'dayColumn'})`] as [string, string]),
    ...METADATA_ROLES.map((role) => [names[role], `the metadata column sluice adds as ${metadataKey}.${role}`] as [string, string]),
  ]);
  for (const column of columns) {
    const clash = reserved.get(column.name.toLowerCase());
    if (clash) {
      throw new SluiceError(
        'SLUICE_SCHEMA_UNSUPPORTED',
        `source column '${column.name}' of the table feeding ${definition.database}.${definition.name} has the name of ${clash}. ` +
          `Choose another name for the partition column (sink.dayColumn / sink.hourColumn) or the metadata column (${metadataKey}) for new tables, or exclude the table.`,
        { context: { table: `${definition.database}.${definition.name}`, sourceColumn: column.name } },
      );
    }
  }
}

/**
 * A table keeps the metadata column names it was created with: its views, snapshot and readers know
 * them by the record. A configuration that names them otherwise now is refused for that table, not
 * followed into a table whose columns no longer say what they are.
 */
function requireSameMetadataNames(definition: TableDefinition, configured: ConfiguredMetadataNames): void {
  const has = metadataNamesOf(definition);
  const differ = METADATA_ROLES.filter((role) => has[role] !== configured.names[role]);
  if (differ.length === 0) return;
  const table = `${definition.database}.${definition.name}`;
  throw new SluiceError(
    'SLUICE_METADATA_NAMES_CHANGED',
    `table ${table} was created with the metadata columns ${METADATA_ROLES.map((role) => has[role]).join(', ')}, and ${configured.key} now names ` +
      `${differ.map((role) => `${role} '${configured.names[role]}' (the table has '${has[role]}')`).join(', ')}. sluice does not rename the columns of an ` +
      `existing table. Set ${configured.key} back to the table's names for it (a routing rule of its own may keep them), or route its changes to a new table.`,
    { context: { table, key: configured.key } },
  );
}

function describeEventPosition(event: ChangeEvent): string {
  return event.position.gtid ? `GTID ${event.position.gtid}` : `${event.position.file}:${event.position.offset}`;
}

/** The source's primary key as the table records it: at creation, and again when it changes (followKeyChange). */
function primaryKeyOf(columns: readonly SourceColumn[]): { primaryKey?: string[] } {
  const key = columns.filter((column) => column.primaryKey).map((column) => column.name.toLowerCase());
  // Hive's table property holds the names comma-separated: a name with a comma records no key.
  return key.length > 0 && !key.some((name) => name.includes(',')) ? { primaryKey: key } : {};
}

function toHiveColumn(column: SourceColumn): HiveColumn {
  return { name: column.name.toLowerCase(), type: hiveTypeFor(column.mysqlType) };
}


