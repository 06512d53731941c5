// Decides, per source table, whether its changes are captured and into which Hive table they go.
// Decisions are cached per source table: the binlog names the same few tables millions of times.

export interface RoutingRule {
  /** A regex on 'db.table'. */
  match: string;
  /** 'db.table', with $1..$9 capture references. */
  target: string;
}

export interface RoutingConfig {
  include: string[];
  exclude: string[];
  rules: RoutingRule[];
}

export interface Route {
  database: string;
  table: string;
}

/** A target's name as checkpoints, logs and metrics give it: `db.table`. */
export function routeKey(route: Route): string {
  return `${route.database}.${route.table}`;
}

export type RouteDecision =
  | { kind: 'routed'; target: Route; rule: number | undefined }
  | { kind: 'excluded' }
  | { kind: 'unmatched' };

// Their changes are the server's own business, never a user's table.
const SYSTEM_SCHEMAS = new Set(['mysql', 'information_schema', 'performance_schema', 'sys']);

export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

export class Router {
  private readonly include: RegExp[];
  private readonly includeGlobs: readonly string[];
  private readonly exclude: RegExp[];
  private readonly rules: { pattern: RegExp; target: string }[];
  private readonly decisions = new Map<string, RouteDecision>();
  /** How many changes each unmatched source table had: a user looks here when a table is missing. */
  readonly unmatchedCounts = new Map<string, number>();

  constructor(
    config: RoutingConfig,
    private readonly onUnmatched?: (source: string, changes: number) => void,
  ) {
    this.include = config.include.map(globToRegExp);
    this.includeGlobs = config.include;
    this.exclude = config.exclude.map(globToRegExp);
    this.rules = config.rules.map((rule) => ({ pattern: new RegExp(rule.match), target: rule.target }));
  }

  /** Whether changes of this table are wanted at all, before any row is decoded. */
  isCaptured(schema: string, table: string): boolean {
    return this.decide(schema, table).kind === 'routed';
  }

  /**
   * Whether some include pattern can match a table of `schema`, whatever its name: for statements
   * that name a database and none of its tables (DROP DATABASE). Excludes are not weighed: a glob
   * that leaves out some tables of the database may still let others in.
   */
  mayCaptureSchema(schema: string): boolean {
    if (SYSTEM_SCHEMAS.has(schema.toLowerCase())) return false;
    return this.includeGlobs.some((glob) => globCanStartWith(glob, `${schema}.`));
  }

  decide(schema: string, table: string): RouteDecision {
    // Asked once per row, and rows come in runs of one table: the last answer needs no name built.
    if (schema === this.lastSchema && table === this.lastTable) return this.lastDecision!;
    const name = `${schema}.${table}`;
    let decision = this.decisions.get(name);
    if (!decision) {
      decision = this.compute(schema, name);
      this.decisions.set(name, decision);
    }
    this.lastSchema = schema;
    this.lastTable = table;
    this.lastDecision = decision;
    return decision;
  }

  private lastSchema: string | undefined;
  private lastTable: string | undefined;
  private lastDecision: RouteDecision | undefined;

  /** Records one change of a table no rule matched. */
  countUnmatched(schema: string, table: string, changes = 1): void {
    const name = `${schema}.${table}`;
    this.unmatchedCounts.set(name, (this.unmatchedCounts.get(name) ?? 0) + changes);
    this.onUnmatched?.(name, changes);
  }

  private compute(schema: string, name: string): RouteDecision {
    if (SYSTEM_SCHEMAS.has(schema.toLowerCase())) return { kind: 'excluded' };
    if (!this.include.some((pattern) => pattern.test(name))) return { kind: 'excluded' };
    if (this.exclude.some((pattern) => pattern.test(name))) return { kind: 'excluded' };
    if (this.rules.length === 0) {
      const [database, table] = splitName(name.toLowerCase());
      return { kind: 'routed', target: { database, table }, rule: undefined };
    }
    for (let index = 0; index < this.rules.length; index++) {
      const rule = this.rules[index]!;
      const found = rule.pattern.exec(name);
      if (!found) continue;
      const target = rule.target.replace(/\$(\d)/g, (_, digit: string) => found[Number(digit)] ?? '');
      const [database, table] = splitName(target.toLowerCase());
      return { kind: 'routed', target: { database, table }, rule: index };
    }
    return { kind: 'unmatched' };
  }
}

function splitName(name: string): [string, string] {
  const dot = name.indexOf('.');
  return [name.slice(0, dot), name.slice(dot + 1)];
}

/** Whether some name the glob matches starts with `prefix` (case-insensitive, as globToRegExp). */
function globCanStartWith(glob: string, prefix: string, at = 0, matched = 0): boolean {
  if (matched === prefix.length) return true;
  if (at === glob.length) return false;
  const symbol = glob[at]!;
  if (symbol === '*') return globCanStartWith(glob, prefix, at + 1, matched) || globCanStartWith(glob, prefix, at, matched + 1);
  if (symbol === '?' || symbol.toLowerCase() === prefix[matched]!.toLowerCase()) return globCanStartWith(glob, prefix, at + 1, matched + 1);
  return false;
}
