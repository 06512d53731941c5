// `sluice check`'s routing preview: the tables on the server now, and where `sluice run` would send
// each (the daemon's own Router decides), so a typo in `routing` shows before a day of capturing
// nothing: a pattern that matches no table is a warning.
import { SYSTEM_SCHEMAS, type SluiceConfig } from '../config/schema.ts';
import { connectMysql, type MysqlServerOptions } from '../core/mysql-connect.ts';
import { globToRegExp, routeKey, Router, type RouteDecision, type RoutingConfig } from '../routing/router.ts';

export interface RoutingPreview {
  /** What goes where, one line each: `ods.orders <- shop.order_0, shop.order_1 (rule 1)`. */
  lines: string[];
  /** Patterns that match no table, naming the key. */
  warnings: string[];
}

/** Names listed per line before "and N more": a sharded schema may have thousands. */
const LISTED = 5;
/** The excludes the config adds by itself; they exclude nothing a user sees, and need no warning. */
const DEFAULT_EXCLUDES = new Set(SYSTEM_SCHEMAS.map((schema) => `${schema}.*`));

/** The base tables on the server (views have no row events), as 'db.table'. */
export async function serverTables(connection: MysqlServerOptions): Promise<string[]> {
  const control = await connectMysql(connection);
  try {
    const [rows] = await control.query(
      "SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') AND TABLE_SCHEMA NOT IN (?) ORDER BY 1, 2",
      [[...SYSTEM_SCHEMAS]],
    );
    return (rows as { db: string; name: string }[]).map((row) => `${row.db}.${row.name}`);
  } finally {
    await control.end().catch(() => undefined);
  }
}

/** Where each of `tables` goes under `routing`, and which of its patterns match none of them. */
export function planRoutes(routing: RoutingConfig, tables: string[]): RoutingPreview {
  const router = new Router(routing);
  const targets = new Map<string, { sources: string[]; rules: Set<number> }>();
  const excluded: string[] = [];
  const notIncluded: string[] = [];
  const unmatched: string[] = [];
  for (const name of tables) {
    const decision = decide(router, name);
    if (decision.kind === 'routed') {
      const target = targets.get(routeKey(decision.target)) ?? { sources: [], rules: new Set<number>() };
      target.sources.push(name);
      if (decision.rule !== undefined) target.rules.add(decision.rule);
      targets.set(routeKey(decision.target), target);
    } else if (decision.kind === 'unmatched') {
      unmatched.push(name);
    } else if (routing.include.some((glob) => globToRegExp(glob).test(name))) {
      excluded.push(name);
    } else {
      notIncluded.push(name);
    }
  }
  const captured = [...targets.values()].reduce((sum, target) => sum + target.sources.length, 0);
  const lines = [`${captured} of ${tables.length} tables on the server captured, into ${targets.size} Hive table${targets.size === 1 ? '' : 's'}`];
  for (const [target, { sources, rules }] of [...targets.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const by = rules.size > 0 ? ` (${[...rules].map((rule) => `routing.rules[${rule}]`).join(', ')})` : '';
    lines.push(`${target} <- ${listed(sources)}${by}`);
  }
  if (unmatched.length > 0) lines.push(`included, but no rule matches (skipped, counted in sluice_unmatched_changes_total): ${listed(unmatched)}`);
  if (excluded.length > 0) lines.push(`excluded by routing.exclude: ${listed(excluded)}`);
  if (notIncluded.length > 0) lines.push(`not in routing.include: ${listed(notIncluded)}`);
  return { lines, warnings: unusedPatterns(routing, tables, router) };
}

function unusedPatterns(routing: RoutingConfig, tables: string[], router: Router): string[] {
  const warnings: string[] = [];
  const schemas = [...new Set(tables.map((name) => name.slice(0, name.indexOf('.'))))];
  const hint = schemas.length === 0 ? 'the user sees no table on the server' : `the server's schemas: ${schemas.slice(0, 10).join(', ')}${schemas.length > 10 ? ', ...' : ''}`;
  routing.include.forEach((glob, index) => {
    const pattern = globToRegExp(glob);
    if (!tables.some((name) => pattern.test(name))) warnings.push(`routing.include[${index}] '${glob}' matches no table on the server (${hint})`);
  });
  const included = tables.filter((name) => routing.include.some((glob) => globToRegExp(glob).test(name)));
  routing.exclude.forEach((glob, index) => {
    const pattern = globToRegExp(glob);
    if (!DEFAULT_EXCLUDES.has(glob) && !included.some((name) => pattern.test(name))) warnings.push(`routing.exclude[${index}] '${glob}' matches no included table`);
  });
  routing.rules.forEach((rule, index) => {
    const pattern = new RegExp(rule.match);
    const matching = tables.filter((name) => pattern.test(name) && decide(router, name).kind !== 'excluded');
    const taken = matching.filter((name) => {
      const decision = decide(router, name);
      return decision.kind === 'routed' && decision.rule === index;
    });
    if (matching.length === 0) warnings.push(`routing.rules[${index}].match '${rule.match}' matches no captured table`);
    else if (taken.length === 0) warnings.push(`routing.rules[${index}].match '${rule.match}' takes no table: an earlier rule takes each it matches (${listed(matching)})`);
  });
  return warnings;
}

function decide(router: Router, name: string): RouteDecision {
  const dot = name.indexOf('.');
  return router.decide(name.slice(0, dot), name.slice(dot + 1));
}

function listed(names: string[]): string {
  return names.length <= LISTED ? names.join(', ') : `${names.slice(0, LISTED).join(', ')} and ${names.length - LISTED} more`;
}

/** The preview of a config's routing against its server. */
export async function previewRouting(config: SluiceConfig, connection: MysqlServerOptions): Promise<RoutingPreview> {
  return planRoutes(config.routing, await serverTables(connection));
}
