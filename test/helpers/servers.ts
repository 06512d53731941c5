// The servers a test needs. `npm test` (test/run-tests.ts) starts them once for the whole run and
// passes their addresses down; a test file run on its own starts (or reuses) the same private ones.
// A test that needs a server and cannot get one fails: there is no skip.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMariaDb, type MariaDbServer } from '../servers/mariadb.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const TEST_MARIADB_DIR = join(REPO_ROOT, '.sluice', 'test-mariadb');

let shared: Promise<MariaDbServer> | undefined;

export function testMariaDb(): Promise<MariaDbServer> {
  shared ??= startMariaDb({ dir: process.env.SLUICE_TEST_MARIADB_DIR ?? TEST_MARIADB_DIR });
  return shared;
}
