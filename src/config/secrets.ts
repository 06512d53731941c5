// Secret references in string values: `${env:NAME}` and `${file:PATH}` (Docker/Kubernetes secret
// files), so passwords never have to be written into a file that ends up in version control.
// `$${...}` stands for a literal `${...}`. Substitution edits the YAML scalars in place, before
// validation, so any later problem with the value is still reported at the right line.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isMap, isScalar, isSeq, type Document } from 'yaml';
import { formatPath, valueOffset, type ConfigPath, type ConfigProblem } from './paths.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export interface Substitution {
  problems: ConfigProblem[];
  /** formatted key path -> original text, so error messages can name the reference, never the secret */
  substituted: Map<string, string>;
}

const REFERENCE = /\$(\$?)\{([A-Za-z]+):([^}]*)\}/g;

/**
 * `skipSection` names a top-level key whose references stay unresolved, as their own text: a command
 * that never uses that section (`sluice query` never connects to the source) must not need its secrets.
 */
export function substituteSecrets(doc: Document, env: Env, baseDir: string, skipSection?: string): Substitution {
  const result: Substitution = { problems: [], substituted: new Map() };

  const visit = (node: unknown, path: ConfigPath): void => {
    // Aliases are skipped: they resolve to their anchor, which is visited (and substituted) itself.
    if (isMap(node)) {
      for (const pair of node.items) {
        if (path.length === 0 && skipSection !== undefined && isScalar(pair.key) && pair.key.value === skipSection) continue;
        visit(pair.value, [...path, String(isScalar(pair.key) ? pair.key.value : pair.key)]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => visit(item, [...path, index]));
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
      const original = node.value;
      let referenced = false;
      const fail = (message: string): string => {
        result.problems.push({ path, offset: valueOffset(doc, path), message });
        return '';
      };
      node.value = original.replace(REFERENCE, (whole, escaped: string, scheme: string, arg: string) => {
        if (escaped) return whole.slice(1);
        referenced = true;
        if (scheme === 'env') return readEnv(env, arg, fail);
        if (scheme === 'file') return readSecretFile(baseDir, arg, fail);
        return fail(`unknown reference '\${${scheme}:...}' (supported: \${env:NAME}, \${file:PATH}; write $\${ for a literal \${)`);
      });
      if (referenced) result.substituted.set(formatPath(path), original);
    }
  };

  visit(doc.contents, []);
  return result;
}

function readEnv(env: Env, name: string, fail: (message: string) => string): string {
  if (name === '') return fail('empty variable name in ${env:}');
  const value = env[name];
  return value === undefined ? fail(`environment variable ${name} is not set (referenced as \${env:${name}})`) : value;
}

function readSecretFile(baseDir: string, path: string, fail: (message: string) => string): string {
  if (path === '') return fail('empty path in ${file:}');
  const absolute = resolve(baseDir, path);
  try {
    // Editors and `echo` add a final newline that is never part of the secret.
    return readFileSync(absolute, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (error as Error).message;
    return fail(`cannot read secret file '${path}' (${absolute}): ${reason}`);
  }
}
