// Runs `sluice query` as a user would: the real CLI (bin/sluice.js) in a child process, with the
// workspace's config, reading its machine-readable output (`--json`: one JSON object per row).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { MariaDbServer } from '../servers/mariadb.ts';
import type { DaemonWorkspace } from './daemon.ts';
import { REPO_ROOT } from './servers.ts';

/** One row as `sluice query --json` prints it: column name -> the value's text, or null. */
export type QueryRow = Record<string, string | null>;

export async function runQueryCli(
  workspace: DaemonWorkspace,
  server: MariaDbServer,
  sql: string,
  env: NodeJS.ProcessEnv = {},
  /** More options, e.g. `--key id` for a current-state view. */
  args: string[] = [],
): Promise<QueryRow[]> {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      [join(REPO_ROOT, 'bin/sluice.js'), 'query', '--config', workspace.configFile, '--json', '--sql', sql, ...args],
      { cwd: workspace.dir, env: { ...process.env, SLUICE_TEST_PASSWORD: server.password, ...env }, maxBuffer: 256 * 1024 * 1024 },
      (error, out, err) => (error ? reject(new Error(`sluice query failed: ${error.message}\n${err}`)) : resolve(out)),
    );
  });
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as QueryRow);
}
