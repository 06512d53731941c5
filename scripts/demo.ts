// `npm run demo`: the daemon's main job on the embedded default, end to end, on a fresh machine.
// A private MariaDB (binlog on) is started, a sharded sample schema gets a small workload, the daemon
// runs until a checkpoint has committed all of it, stops cleanly, and the Hive table is queried.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckpointStore } from '../src/checkpoint/checkpoint-store.ts';
import { daemonConfigYaml, LOCAL_STORAGE_YAML } from '../test/helpers/daemon-config.ts';
import { binlogHiveRecord } from '../src/pipeline/binlog-to-hive-record.ts';
import { createShop, gtidBinlogPosition, runShopWorkload, shopRoutingYaml } from '../test/helpers/demo-shop.ts';
import { startMariaDb } from '../test/servers/mariadb.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
// SLUICE_DEMO_DIR: another home for the demo's config, state and MariaDB (the Node 24 run of
// test/node24.ts uses its own, and stops its MariaDB, leaving a person's demo alone).
const home = process.env.SLUICE_DEMO_DIR ?? join(root, '.sluice');
const workspace = join(home, 'demo');
const say = (text: string) => process.stdout.write(`\n== ${text}\n`);

say('starting a private MariaDB with the binlog on (ROW, FULL metadata)');
const server = await startMariaDb({ dir: join(home, 'demo-mariadb') });
console.log(`MariaDB on 127.0.0.1:${server.port}, data in ${server.dir}`);

say('creating the sample schema: shop.order_0 and shop.order_1, two shards of one table');
const db = await server.rootConnection();
await createShop(db);
const startPosition = await gtidBinlogPosition(db);

say('running a workload: inserts, updates and a delete');
await runShopWorkload(db);
const endPosition = await gtidBinlogPosition(db);
await db.end();

rmSync(workspace, { recursive: true, force: true });
mkdirSync(workspace, { recursive: true });
const configFile = join(workspace, 'sluice.yaml');
writeFileSync(
  configFile,
  daemonConfigYaml({
    header: '# Written by npm run demo. See config/sluice.example.yaml for every key.\n',
    server,
    passwordEnv: 'SLUICE_MYSQL_PASSWORD',
    serverId: 4711,
    start: `{ gtid: '${startPosition}' }`,
    routing: shopRoutingYaml(),
    sink: LOCAL_STORAGE_YAML,
    checkpointSeconds: 2,
    // The demo shows the stream's own changes from the start position; the default, initial, would
    // read the tables' rows as they are now (op read) and stream from the binlog's end.
    extra: 'snapshot:\n  mode: never\n',
  }),
);

say(`running the daemon (sluice run --config ${configFile}) until a checkpoint commits the workload`);
const env = { ...process.env, SLUICE_MYSQL_PASSWORD: server.password };
const sluice = join(root, 'bin', 'sluice.js');
const daemon = spawn(process.execPath, [sluice, 'run', '--config', configFile], { env, stdio: ['ignore', 'pipe', 'inherit'] });
daemon.stdout.on('data', (chunk: Buffer) => {
  for (const line of chunk.toString().split('\n').filter(Boolean)) {
    try {
      const entry = JSON.parse(line) as { msg: string; table?: string; checkpoint?: number; commits?: number };
      console.log(`  daemon: ${entry.msg}${entry.table ? ` ${entry.table}` : ''}${entry.checkpoint ? ` #${entry.checkpoint}` : ''}`);
    } catch {
      console.log(`  daemon: ${line}`);
    }
  }
});
const wanted = Number(endPosition.split('-')[2]);
const store = new CheckpointStore(join(workspace, 'state'));
const deadline = Date.now() + 60_000;
for (;;) {
  const stored = await store.latest().catch(() => undefined);
  const record = stored && binlogHiveRecord(stored);
  if (record && Number(record.source.position.gtidSet?.split('-')[2] ?? 0) >= wanted) break;
  if (daemon.exitCode !== null) throw new Error(`the daemon exited with ${daemon.exitCode}`);
  if (Date.now() > deadline) throw new Error('no checkpoint covered the workload within 60 s');
  await new Promise((resolve) => setTimeout(resolve, 200));
}
daemon.kill('SIGTERM');
const code = await new Promise<number | null>((resolve) => daemon.on('exit', resolve));
console.log(`daemon stopped with exit code ${code}`);

say('the Hive table ods.orders, as committed in the local warehouse (sluice query ods.orders)');
const query = spawn(process.execPath, [sluice, 'query', 'ods.orders', '--config', configFile, '--sql',
  'SELECT _op, _source, id, customer, amount, status, created_at, note, dt FROM ods.orders ORDER BY _seq'], { env, stdio: 'inherit' });
const queryCode = await new Promise<number | null>((resolve) => query.on('exit', resolve));
console.log(`\nThe private MariaDB keeps running for another try; stop it with: npm run mariadb -- stop ${server.dir}`);
process.exit(queryCode ?? 1);
