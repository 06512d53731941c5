// Turns zod issues into messages a person editing YAML can act on: the key path, where it is in the
// file, what was expected and what was found. zod's own messages talk about JS types and objects;
// these talk about mappings, lists and the keys that exist.
import type { z } from 'zod';
import type { Document } from 'yaml';
import { formatPath, keyOffset, valueOffset, type ConfigPath, type ConfigProblem } from './paths.ts';

type Issue = z.core.$ZodIssue;

export interface IssueContext {
  doc: Document;
  /** the plain data that was validated */
  data: unknown;
  schema: z.ZodType;
  /** formatted key path -> the `${...}` text it came from */
  substituted: ReadonlyMap<string, string>;
}

export function describeIssues(issues: readonly Issue[], ctx: IssueContext): ConfigProblem[] {
  return issues.flatMap((issue) => describe(issue, issue.path, ctx));
}

function describe(issue: Issue, path: ConfigPath, ctx: IssueContext): ConfigProblem[] {
  const value = valueAt(ctx.data, path);
  const at = (message: string, offset = valueOffset(ctx.doc, path)): ConfigProblem[] => [{ path, offset, message }];
  const got = (): string => describeValue(value, ctx.substituted.get(formatPath(path)));

  if (value === undefined && issue.code !== 'unrecognized_keys' && issue.code !== 'custom') {
    // keyOffset of a key that is not written falls back to its parent, which is where it belongs.
    const key = path[path.length - 1];
    const expected = issue.code === 'invalid_type' ? ` (expected ${expectedType(issue.expected)})` : '';
    return at(`missing required key '${String(key ?? '')}'${expected}`, keyOffset(ctx.doc, path));
  }

  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(ctx.schema, path);
      return issue.keys.map((key) => {
        const suggestion = closest(key, known);
        const hint = suggestion ? `did you mean '${suggestion}'?` : `known keys: ${known.join(', ')}`;
        return { path: [...path, key], offset: keyOffset(ctx.doc, [...path, key]), message: `unknown key '${key}' (${hint})` };
      });
    }
    case 'invalid_union': {
      // When exactly one branch plausibly was meant (the value has its type and, for a mapping, at
      // least one of its keys), that branch's issues are the specific ones. Otherwise, say for `{}`,
      // the union's own summary is clearer than guessing.
      const fitting = issue.errors.filter((errors) => errors.length > 0 && fits(errors, value));
      if (fitting.length === 1) {
        return (fitting[0] as Issue[]).flatMap((inner) => describe(inner, [...path, ...inner.path], ctx));
      }
      return at(`${issue.message}, got ${got()}`);
    }
    case 'invalid_type':
      return at(`expected ${expectedType(issue.expected)}, got ${got()}`);
    case 'too_small':
    case 'too_big':
      return at(`expected ${bound(issue, isInteger(ctx.schema, path))}, got ${got()}`);
    case 'invalid_value': {
      const options = issue.values.map((v) => `'${String(v)}'`);
      const expected = options.length === 1 ? options[0] : `one of ${options.join(', ')}`;
      return at(`expected ${expected}, got ${got()}`);
    }
    case 'invalid_format':
      return at(`${issue.message}, got ${got()}`);
    default:
      // custom refinements in schema.ts write complete messages
      return at(issue.message);
  }
}

function fits(errors: readonly Issue[], value: unknown): boolean {
  const root = errors.filter((e) => e.path.length === 0);
  if (root.some((e) => e.code !== 'unrecognized_keys')) return false;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return true;
  const unknown = new Set(root.flatMap((e) => (e.code === 'unrecognized_keys' ? e.keys : [])));
  return Object.keys(value).some((key) => !unknown.has(key));
}

function bound(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig, integer: boolean): string {
  const small = issue.code === 'too_small';
  const limit = Number(small ? issue.minimum : issue.maximum);
  switch (issue.origin) {
    case 'string':
      return small && limit === 1 ? 'a non-empty string' : `${small ? 'at least' : 'at most'} ${limit} characters`;
    case 'array':
      return `${small ? 'at least' : 'at most'} ${limit} item${limit === 1 ? '' : 's'}`;
    default: {
      const relation = issue.inclusive ? (small ? 'at least' : 'at most') : small ? 'greater than' : 'less than';
      return `${integer ? 'an integer' : 'a number'} ${relation} ${limit}`;
    }
  }
}

function expectedType(expected: string): string {
  const names: Record<string, string> = {
    string: 'a string',
    number: 'a number',
    int: 'an integer',
    boolean: 'true or false',
    object: 'a mapping',
    array: 'a list',
  };
  return names[expected] ?? expected;
}

function describeValue(value: unknown, reference: string | undefined): string {
  // Never echo a substituted value: it may be a secret that was put under the wrong key.
  if (reference !== undefined) return `a string substituted from '${reference}' (value not shown)`;
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return `string '${shown.replace(/\n/g, '\\n')}'`;
  }
  return String(value);
}

function valueAt(data: unknown, path: ConfigPath): unknown {
  let node = data;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

// --- schema introspection: which keys exist at a path, and whether a number must be whole ---

interface LooseSchema {
  _zod: {
    def: {
      type: string;
      format?: string;
      shape?: Record<string, LooseSchema>;
      innerType?: LooseSchema;
      in?: LooseSchema;
      element?: LooseSchema;
      options?: LooseSchema[];
    };
  };
}

function unwrap(schema: LooseSchema): LooseSchema[] {
  const def = schema._zod.def;
  if (def.innerType) return unwrap(def.innerType); // default, prefault, optional, nullable, ...
  if (def.type === 'pipe' && def.in) return unwrap(def.in); // .transform()
  if (def.type === 'union' && def.options) return def.options.flatMap(unwrap);
  return [schema];
}

function schemasAt(root: z.ZodType, path: ConfigPath): LooseSchema[] {
  let current = unwrap(root as unknown as LooseSchema);
  for (const key of path) {
    current = current.flatMap((schema) => {
      const def = schema._zod.def;
      if (def.type === 'object' && typeof key === 'string' && def.shape?.[key]) return unwrap(def.shape[key]);
      if (def.type === 'array' && typeof key === 'number' && def.element) return unwrap(def.element);
      return [];
    });
  }
  return current;
}

function knownKeys(root: z.ZodType, path: ConfigPath): string[] {
  const keys = schemasAt(root, path).flatMap((s) => Object.keys(s._zod.def.shape ?? {}));
  return [...new Set(keys)];
}

function isInteger(root: z.ZodType, path: ConfigPath): boolean {
  return schemasAt(root, path).some((s) => s._zod.def.type === 'number' && /int/.test(s._zod.def.format ?? ''));
}

/** The known key a typo most likely meant, ignoring case, '-' and '_' (so interval_seconds finds intervalSeconds). */
export function closest(key: string, candidates: readonly string[]): string | undefined {
  const normal = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, '');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(normal(key), normal(candidate));
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  if (best === undefined) return undefined;
  return bestDistance <= Math.max(1, Math.floor(Math.max(key.length, best.length) / 3)) ? best : undefined;
}

// Optimal string alignment distance: Levenshtein plus adjacent transposition, the commonest typo.
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = value;
    }
  }
  return at(a.length, b.length);
}
