// Reads sluice.yaml into a validated SluiceConfig. Every problem is reported at once, each with the
// file, line and column, so a user fixes a broken config in one edit instead of one run per typo.
import { accessSync, constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { SluiceError } from '../core/errors.ts';
import { describeIssues } from './issues.ts';
import { formatPath, type ConfigProblem } from './paths.ts';
import { kafkaConfigSchema, sluiceConfigSchema, type KafkaDaemonConfig, type SluiceConfig } from './schema.ts';
import { substituteSecrets, type Env } from './secrets.ts';

/** What a command needs of the config: `sink` (sluice query) leaves the source's secrets and TLS files unread. */
export type ConfigUse = 'all' | 'sink';

export async function loadConfig(path: string, env: Env = process.env, use: ConfigUse = 'all'): Promise<SluiceConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw unreadable('config file', path, error, 'sluice.yaml');
  }
  return parseConfig(text, path, env, use);
}

/** The config's `source.kind` ('binlog' when it names none), read before the config is validated against the matching schema. */
export async function configSourceKind(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const kind = parseDocument(text).getIn(['source', 'kind']);
  return typeof kind === 'string' ? kind : 'binlog';
}

/** A Kafka daemon's config (`source.kind: kafka`), validated and with its paths absolute. */
export async function loadKafkaConfig(path: string, env: Env = process.env): Promise<KafkaDaemonConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw unreadable('config file', path, error, 'sluice.yaml');
  }
  const config = parseYamlWith(kafkaConfigSchema, text, path, env);
  const baseDir = dirname(resolve(path));
  return { ...config, ...resolveSinkPaths(config, baseDir), source: { ...config.source, deadLetterFile: resolve(baseDir, config.source.deadLetterFile) } };
}

/** A config or job file that cannot be read, said the way a person fixes it (a path to a directory is a common slip). */
export function unreadable(what: string, path: string, error: unknown, example: string): SluiceError {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? `there is no file ${resolve(path)}`
      : code === 'EISDIR'
        ? `${resolve(path)} is a directory; give the YAML file in it (e.g. ${join(path, example)})`
        : code === 'EACCES'
          ? `the user may not read ${resolve(path)} (${code})`
          : (error as Error).message;
  return new SluiceError('SLUICE_CONFIG_UNREADABLE', `cannot read ${what} ${path}: ${why}`, { cause: error, context: { file: path } });
}

/** `file` names the config in messages, and its directory anchors relative paths and ${file:...}. */
export function parseConfig(text: string, file: string, env: Env = process.env, use: ConfigUse = 'all'): SluiceConfig {
  const config = parseYamlWith(sluiceConfigSchema, text, file, env, use === 'sink' ? 'source' : undefined);
  return resolvePaths(config, dirname(resolve(file)), file, use);
}

/**
 * Parses and validates any sluice YAML document (the daemon's config, a batch job) against `schema`,
 * with the same secrets and the same file:line:column errors.
 */
export function parseYamlWith<S extends z.ZodType>(schema: S, text: string, file: string, env: Env = process.env, skipSecretsOf?: string): z.output<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((error) => {
      const pos = error.linePos?.[0] ?? { line: 1, col: 1 };
      // prettyErrors appends " at line L, column C:" and a code excerpt; the prefix says that already.
      const reason = error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '');
      return { line: pos.line, column: pos.col, text: `${file}:${pos.line}:${pos.col} YAML syntax error: ${reason}` };
    });
    const first = lines[0] as (typeof lines)[number];
    throw new SluiceError('SLUICE_CONFIG_INVALID', lines.map((l) => l.text).join('\n'), {
      context: { file, line: first.line, column: first.column },
    });
  }

  const baseDir = dirname(resolve(file));
  const { problems, substituted } = substituteSecrets(doc, env, baseDir, skipSecretsOf);

  let data: unknown;
  try {
    // An empty file is an empty mapping, so the user hears which keys are required.
    data = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    throw new SluiceError('SLUICE_CONFIG_INVALID', `${file}: ${(error as Error).message}`, { cause: error, context: { file } });
  }

  const result = schema.safeParse(data);
  if (!result.success) {
    problems.push(...describeIssues(result.error.issues, { doc, data, schema, substituted }));
  }
  if (problems.length > 0 || !result.success) throw invalidConfig(file, problems, lineCounter);
  return result.data;
}

function invalidConfig(file: string, problems: ConfigProblem[], lineCounter: LineCounter): SluiceError {
  const located = problems
    .map((problem, index) => ({ problem, index, pos: lineCounter.linePos(problem.offset) }))
    // File order reads naturally; index keeps issues at the same spot in the order zod found them.
    .sort((a, b) => a.problem.offset - b.problem.offset || a.index - b.index)
    .map(({ problem, pos }) => ({
      configKey: formatPath(problem.path),
      line: pos.line,
      column: pos.col,
      message: problem.message,
    }));
  const first = located[0];
  const message = located.map((p) => `${file}:${p.line}:${p.column} ${p.configKey}: ${p.message}`).join('\n');
  return new SluiceError('SLUICE_CONFIG_INVALID', message, {
    context: { file, configKey: first?.configKey, line: first?.line, column: first?.column, issues: located },
  });
}

// Relative to the config file, not the working directory, so `sluice -c /etc/sluice/x.yaml` behaves the
// same from any directory (systemd starts us in /).
function resolvePaths(config: SluiceConfig, baseDir: string, file: string, use: ConfigUse): SluiceConfig {
  return {
    ...config,
    source: use === 'sink' ? config.source : { ...config.source, tls: resolveTlsPaths(config.source.tls, baseDir, file, 'source') },
    ...resolveSinkPaths(config, baseDir),
  };
}

function resolveSinkPaths(config: Pick<SluiceConfig, 'sink' | 'checkpoint'>, baseDir: string): Pick<SluiceConfig, 'sink' | 'checkpoint'> {
  return {
    sink: {
      ...config.sink,
      filesystem: resolveFileSystemPaths(config.sink.filesystem, baseDir),
      catalog: config.sink.catalog.kind === 'local' ? { ...config.sink.catalog, dir: resolve(baseDir, config.sink.catalog.dir) } : config.sink.catalog,
    },
    checkpoint: resolveCheckpointPaths(config.checkpoint, baseDir),
  };
}

/** checkpoint.dir and checkpoint.hdfs.spoolDir made absolute (the daemon's config and a batch job's). */
export function resolveCheckpointPaths<T extends { dir: string; hdfs?: { spoolDir?: string } }>(checkpoint: T, baseDir: string): T {
  const hdfs = checkpoint.hdfs;
  return {
    ...checkpoint,
    dir: resolve(baseDir, checkpoint.dir),
    ...(hdfs?.spoolDir === undefined ? {} : { hdfs: { ...hdfs, spoolDir: resolve(baseDir, hdfs.spoolDir) } }),
  };
}

/**
 * The PEM files of a `tls` section made absolute, and readable now, so that a wrong path is a config
 * error naming its key rather than a failed connection. They are read again at each connection.
 */
export function resolveTlsPaths<T extends Partial<Record<'ca' | 'cert' | 'key', string>>>(tls: T, baseDir: string, file: string, section: string): T {
  const resolved = { ...tls };
  for (const key of ['ca', 'cert', 'key'] as const) {
    const path = tls[key];
    if (path === undefined) continue;
    const absolute = resolve(baseDir, path);
    try {
      accessSync(absolute, constants.R_OK);
    } catch (error) {
      throw unreadable(`${section}.tls.${key} (${file})`, absolute, error, 'ca.pem');
    }
    resolved[key] = absolute as T[typeof key];
  }
  return resolved;
}

function resolveFileSystemPaths(filesystem: SluiceConfig['sink']['filesystem'], baseDir: string): SluiceConfig['sink']['filesystem'] {
  if (filesystem.kind === 'local') return { ...filesystem, root: resolve(baseDir, filesystem.root) };
  // HDFS paths are absolute already; only the local spool directory is relative to the config file.
  return filesystem.spoolDir === undefined ? filesystem : { ...filesystem, spoolDir: resolve(baseDir, filesystem.spoolDir) };
}

/** A copy that is safe to log or print: the MySQL password is always '***', set or not; so are an HDFS delegation token and the mask salt. */
export function redactConfig<T extends SluiceConfig | KafkaDaemonConfig>(config: T): T {
  const copy = structuredClone(config);
  if (copy.source.kind === 'binlog') copy.source.password = '***';
  if (copy.capture.salt !== undefined) copy.capture.salt = '***';
  if (copy.sink.filesystem.kind === 'webhdfs' && copy.sink.filesystem.delegationToken !== undefined) copy.sink.filesystem.delegationToken = '***';
  return copy;
}
