// What is captured of each routed change: the columns a table's settings leave in (include/exclude),
// masked values, and the rows its filter lets through. It runs between routing and the sink, so an
// excluded or masked value never reaches a file, a log line, an error or a metric: the sink, and
// everything after it, only ever sees the transformed change. Settings come from the first
// capture.tables entry whose glob names the source table, else from the table's routing rule.
import type { CellValue, ChangeEvent, SourceColumn } from '../../core/change-event.ts';
import { SluiceError } from '../../core/errors.ts';
import type { RowFilterExpression } from '../../config/row-filter-syntax.ts';
import type { SchemaPolicy } from '../../config/schema.ts';
import { globToRegExp } from '../router.ts';
import { maskerFor, type Masker, type MaskKind } from './masks.ts';
import { bindRowFilter, type RowPredicate } from './row-filter.ts';

export interface CaptureSettings {
  columns?: { include?: string[] | undefined; exclude: string[] } | undefined;
  mask?: Record<string, MaskKind> | undefined;
  filter?: RowFilterExpression | undefined;
  schemaChanges?: SchemaPolicy | undefined;
}

export interface CaptureConfig {
  salt?: string | undefined;
  tables: (CaptureSettings & { match: string })[];
}

/** A masked column is text in Hive, whatever it was: a hash or a fixed mask is no number or date. */
const MASKED_TYPE = { mysqlType: 'text', charset: 'utf8mb4' } as const;

/** Told of a setting that names no column of a table: a misspelt mask would leave its column raw. */
export type CaptureWarning = (message: string, context: Record<string, unknown>) => void;

/** One table's settings, compiled, and where in the config they are (for messages). */
class TablePlan {
  private readonly include: RegExp[] | undefined;
  private readonly exclude: RegExp[];
  private readonly masks: { pattern: RegExp; masker: Masker; keepsKeys: boolean }[];
  private readonly byColumns = new WeakMap<readonly SourceColumn[], ColumnPlan>();
  /** `table key glob` already warned of, so a warning comes once per table, not per column list. */
  private readonly warned = new Set<string>();

  constructor(
    readonly settings: CaptureSettings,
    readonly configKey: string,
    salt: string | undefined,
    private readonly warn: CaptureWarning | undefined,
  ) {
    this.include = settings.columns?.include?.map(globToRegExp);
    this.exclude = (settings.columns?.exclude ?? []).map(globToRegExp);
    // A hash keeps distinct values distinct, so a hashed key still tells rows apart; a fixed mask does not.
    this.masks = Object.entries(settings.mask ?? {}).map(([glob, kind]) => ({ pattern: globToRegExp(glob), masker: maskerFor(kind, salt), keepsKeys: kind === 'hash' }));
  }

  /** The plan for one column list (cached: the stream hands the same list on for every row of a table). */
  columnsFor(columns: readonly SourceColumn[], event: ChangeEvent): ColumnPlan {
    let plan = this.byColumns.get(columns);
    if (!plan) {
      plan = this.compile(columns, event);
      this.byColumns.set(columns, plan);
    }
    return plan;
  }

  private compile(columns: readonly SourceColumn[], event: ChangeEvent): ColumnPlan {
    const kept: number[] = [];
    const maskers: (Masker | undefined)[] = [];
    let out: SourceColumn[] = [];
    let keyKept = true;
    columns.forEach((column, index) => {
      const excluded = (this.include && !this.include.some((pattern) => pattern.test(column.name))) || this.exclude.some((pattern) => pattern.test(column.name));
      const mask = excluded ? undefined : this.masks.find((candidate) => candidate.pattern.test(column.name));
      if (column.primaryKey && (excluded || (mask && !mask.keepsKeys))) keyKept = false;
      if (excluded) return;
      kept.push(index);
      maskers.push(mask?.masker);
      out.push(mask ? { name: column.name, ...MASKED_TYPE, ...(column.primaryKey ? { primaryKey: true as const } : {}) } : column);
    });
    // Without all of its key columns (or with one masked to the same text for every row) a table's rows
    // cannot be told apart by key: it records no key, so it gets no current-state view that would merge them.
    if (!keyKept) out = out.map(({ primaryKey: _dropped, ...column }) => column);
    this.warnOfUnmatched(columns, event);
    const identity = kept.length === columns.length && maskers.every((masker) => masker === undefined);
    return { kept, maskers, columns: identity ? columns : out, identity, predicate: this.bindFilter(columns, event) };
  }

  private warnOfUnmatched(columns: readonly SourceColumn[], event: ChangeEvent): void {
    if (!this.warn || columns.length === 0) return;
    const table = `${event.schema}.${event.table}`;
    const globs: [string, string][] = [
      ...(this.settings.columns?.include ?? []).map((glob): [string, string] => ['columns.include', glob]),
      ...(this.settings.columns?.exclude ?? []).map((glob): [string, string] => ['columns.exclude', glob]),
      ...Object.keys(this.settings.mask ?? {}).map((glob): [string, string] => ['mask', glob]),
    ];
    for (const [key, glob] of globs) {
      const pattern = globToRegExp(glob);
      const seen = `${table} ${key} ${glob}`;
      if (columns.some((column) => pattern.test(column.name)) || this.warned.has(seen)) continue;
      this.warned.add(seen);
      this.warn(
        `${this.configKey}.${key} '${glob}' names no column of ${table} (its columns: ${columns.map((column) => column.name).join(', ')}): ` +
          `it ${key === 'mask' ? 'masks' : key === 'columns.exclude' ? 'leaves out' : 'keeps'} nothing there. Check the spelling.`,
        { table, configKey: `${this.configKey}.${key}`, glob },
      );
    }
  }

  private bindFilter(columns: readonly SourceColumn[], event: ChangeEvent): RowPredicate | undefined {
    const filter = this.settings.filter;
    if (!filter) return undefined;
    const bound = bindRowFilter(filter, columns);
    if ('predicate' in bound) return bound.predicate;
    const table = `${event.schema}.${event.table}`;
    const at = event.position.gtid ? `GTID ${event.position.gtid}` : `${event.position.file}:${event.position.offset}`;
    // Names only: the filter's text and the missing columns, never a value of the row.
    throw new SluiceError(
      'SLUICE_CAPTURE_FILTER',
      `table ${table}: its row filter (${this.configKey}) "${filter.text}" reads ${bound.missing.map((name) => `'${name}'`).join(', ')}, ` +
        `which ${table} no longer has at ${at} (a column dropped or renamed). Nothing after the last checkpoint of the table was written; ` +
        'change the filter to the columns the table has now and restart: the table goes on from its last checkpoint.',
      { context: { table, configKey: this.configKey, position: at, missingColumns: bound.missing } },
    );
  }
}

interface ColumnPlan {
  /** Indexes of the source columns written, in order. */
  kept: number[];
  /** The mask of each kept column, if any. */
  maskers: (Masker | undefined)[];
  columns: readonly SourceColumn[];
  /** Nothing left out and nothing masked: values go on as they are. */
  identity: boolean;
  predicate: RowPredicate | undefined;
}

export class CaptureTransform {
  private readonly tables: { pattern: RegExp; plan: TablePlan }[];
  private readonly rules: (TablePlan | undefined)[];
  private readonly plans = new Map<string, TablePlan | undefined>();

  constructor(config: CaptureConfig, rules: readonly CaptureSettings[], warn?: CaptureWarning) {
    this.tables = config.tables.map((entry, index) => ({ pattern: globToRegExp(entry.match), plan: new TablePlan(entry, `capture.tables[${index}]`, config.salt, warn) }));
    this.rules = rules.map((rule, index) => (hasSettings(rule) ? new TablePlan(rule, `routing.rules[${index}]`, config.salt, warn) : undefined));
  }

  /** Whether any table has settings: without any, the pipeline need not call apply. */
  get active(): boolean {
    return this.tables.length > 0 || this.rules.some((plan) => plan !== undefined);
  }

  /**
   * The change as it is captured, or undefined when the row filter keeps it out. An update whose
   * row leaves the filter becomes a delete of the row as it was (its before image, which passed),
   * so that the current state loses it; one whose row enters it is written as the update it is,
   * so that the row appears. A delete is written when the row it removes passed the filter.
   */
  apply(event: ChangeEvent, rule: number | undefined): ChangeEvent | undefined {
    // A truncate marker has no row: it empties its source table whatever was captured of it.
    if (event.op === 'truncate') return event;
    const table = this.planFor(event.schema, event.table, rule);
    if (!table) return event;
    const plan = table.columnsFor(event.columns, event);
    let op = event.op;
    let after = event.after;
    let before = event.before;
    const passes = plan.predicate;
    if (passes) {
      if (op === 'insert' || op === 'read') {
        if (after === null || !passes(after)) return undefined;
      } else if (op === 'delete') {
        if (before === null || !passes(before)) return undefined;
      } else if (after === null || !passes(after)) {
        if (before === null || !passes(before)) return undefined;
        op = 'delete';
        after = null;
      } else if (before !== null && !passes(before)) {
        // Entering the filter: the row as it was did not pass, so it is written nowhere (not even as
        // the delete of its old key, should the update also change the key: sinks/key-move.ts).
        before = null;
      }
    }
    if (plan.identity) return op === event.op && before === event.before ? event : { ...event, op, before, after };
    return { ...event, op, columns: plan.columns, before: project(before, plan), after: project(after, plan) };
  }

  /** What a schema change of this source table does to its Hive table: `evolve` unless its settings say. */
  schemaPolicy(schema: string, name: string, rule: number | undefined): SchemaPolicy {
    return this.planFor(schema, name, rule)?.settings.schemaChanges ?? 'evolve';
  }

  private planFor(schema: string, name: string, rule: number | undefined): TablePlan | undefined {
    const key = `${schema}.${name}`;
    if (this.plans.has(key)) return this.plans.get(key);
    const plan = this.tables.find((entry) => entry.pattern.test(key))?.plan ?? (rule === undefined ? undefined : this.rules[rule]);
    this.plans.set(key, plan);
    return plan;
  }
}

function hasSettings(settings: CaptureSettings): boolean {
  return settings.columns !== undefined || settings.mask !== undefined || settings.filter !== undefined || settings.schemaChanges !== undefined;
}

function project(image: readonly CellValue[] | null, plan: ColumnPlan): CellValue[] | null {
  if (image === null) return null;
  return plan.kept.map((index, at) => {
    const value = image[index] ?? null;
    const masker = plan.maskers[at];
    return masker ? masker(value) : value;
  });
}
