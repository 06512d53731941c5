// Shared helpers for naming a place in the config: a key path as users write it, and the YAML node
// that holds it, so every message can say `sink.filesystem.root` and a line:column.
import { isAlias, isMap, isScalar, isSeq, type Document, type Node, type Pair } from 'yaml';

export type ConfigPath = readonly PropertyKey[];

/** A problem found in the config, located by character offset; load.ts turns offsets into line:column. */
export interface ConfigProblem {
  path: ConfigPath;
  offset: number;
  message: string;
}

export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(String(segment))) out += `${out === '' ? '' : '.'}${String(segment)}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out === '' ? '(root)' : out;
}

// Compared as strings because zod paths come from toJS(), where a YAML key like `1:` became '1'.
function pairOf(node: unknown, key: PropertyKey): Pair | undefined {
  if (!isMap(node)) return undefined;
  return node.items.find((pair) => String(isScalar(pair.key) ? pair.key.value : pair.key) === String(key));
}

function childOf(doc: Document, node: unknown, key: PropertyKey): unknown {
  const resolved = isAlias(node) ? node.resolve(doc) : node;
  if (isSeq(resolved) && typeof key === 'number') return resolved.items[key];
  return pairOf(resolved, key)?.value;
}

function nodeAt(doc: Document, path: ConfigPath): unknown {
  let node: unknown = doc.contents;
  for (const key of path) node = node == null ? undefined : childOf(doc, node, key);
  return node;
}

function startOf(node: unknown): number | undefined {
  const range = (node as Node | undefined)?.range;
  return range ? range[0] : undefined;
}

/** Where the key itself is written (`root:` rather than its value); the item start for list elements. */
export function keyOffset(doc: Document, path: ConfigPath): number {
  if (path.length === 0) return startOf(doc.contents) ?? 0;
  const parent = nodeAt(doc, path.slice(0, -1));
  const last = path[path.length - 1] as PropertyKey;
  const resolved = isAlias(parent) ? parent.resolve(doc) : parent;
  const at = typeof last === 'number' ? startOf(childOf(doc, resolved, last)) : startOf(pairOf(resolved, last)?.key);
  return at ?? keyOffset(doc, path.slice(0, -1));
}

/** Where the value at `path` is written, falling back to the nearest written ancestor's key. */
export function valueOffset(doc: Document, path: ConfigPath): number {
  const node = nodeAt(doc, path);
  // An empty value (`sink:` with nothing after it) has a zero-width range at the end of the line;
  // the key is the useful place to point at.
  if (node == null || (isScalar(node) && node.value == null)) return keyOffset(doc, path);
  return startOf(node) ?? keyOffset(doc, path);
}
