// `npm run test:node24`, and the last step of a full `npm test` (test/run-tests.ts): the unit-level
// tests and the demo under Node 24, the newest LTS in `engines`, while the machine's own Node 20 runs
// the rest of the suite. Node 24 is fetched into .sluice/node-24 on first use (test/servers/node-fetch.ts).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { stopMariaDb } from './servers/mariadb.ts';
import { ensureNode, NODE_24_DIR } from './servers/node-fetch.ts';
import { REPO_ROOT } from './helpers/servers.ts';

/**
 * The tests that need no server (no MariaDB, MySQL, HDFS, Hive or FTP) and no system tool: they run in
 * seconds, and they hold what may change with the Node version: DuckDB's native module (query,
 * compaction), Buffer/zlib work in the codecs and Parquet, the pipeline loop and its timers, the
 * config parser, checkpoints on local disk. The server tests drive the same code through the real
 * daemon; the demo below runs that daemon (binlog, routing, local warehouse, query) under Node 24 too.
 */
export const UNIT_TESTS = [
  'checkpoint', 'compaction', 'config', 'docker', 'docs-links', 'hive-catalog-ddl', 'hive-text-codec', 'hive-text-into', 'kafka-config', 'kafka-formats', 'pipeline-loop', 'query', 'materialize', 'query-current', 'query-views',
  'kafka-sink-config', 'local-filesystem', 'routing', 'schema-history', 'sink-roll', 'snappy-compress', 'parquet-values', 'source-queue', 'sync-barrier', 'sync-job-config', 'sync-progress', 'table-gate', 'table-reset', 'type-evolution', 'type-mapping',
].map((name) => `test/${name}.test.ts`);

const log = (line: string) => process.stdout.write(`${line}\n`);
const { node, version } = await ensureNode(24, process.env.SLUICE_NODE24_DIR ?? NODE_24_DIR, log);
log(`\n== the unit-level tests under node ${version} (${node})`);
const units = await run(node, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...UNIT_TESTS]);

log(`\n== the demo under node ${version}`);
// Its own folder and MariaDB, stopped afterwards: a person's demo in .sluice/demo stays as it is.
const demoHome = join(REPO_ROOT, '.sluice', 'node24-demo');
let output = '';
const demo = await run(node, ['--import', 'tsx', 'scripts/demo.ts'], { SLUICE_DEMO_DIR: demoHome }, (text) => (output += text));
await stopMariaDb(join(demoHome, 'demo-mariadb', 'mariadb.pid'));
// The demo fails by itself when no checkpoint covers its workload; its table is checked here too.
const demoPassed = demo === 0 && /daemon stopped with exit code 0/.test(output) && /\(10 rows\)/.test(output);
log(`\nNode ${version}: unit-level tests ${units === 0 ? 'passed' : 'FAILED'}, demo ${demoPassed ? 'passed' : 'FAILED'}`);
process.exit(units === 0 && demoPassed ? 0 : 1);

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}, tee?: (text: string) => void): Promise<number> {
  const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', tee ? 'pipe' : 'inherit', 'inherit'] });
  child.stdout?.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    tee?.(chunk.toString());
  });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}
