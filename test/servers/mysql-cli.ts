// `npm run mysql -- start|stop|fetch [DIR]`: the private MySQL 9.7 by hand, for a person poking around.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopMariaDb } from './mariadb.ts';
import { ensureMySqlPrefix } from './mysql-fetch.ts';
import { MYSQL_PREFIX_DIR, startMySql } from './mysql.ts';

const [command = 'start', dirArgument] = process.argv.slice(2);
const dir = dirArgument ?? join(fileURLToPath(new URL('../..', import.meta.url)), '.sluice', 'demo-mysql');
const log = (line: string) => console.log(line);
if (command === 'start') {
  const started = Date.now();
  const server = await startMySql({ dir, log });
  console.log(`MySQL on 127.0.0.1:${server.port} in ${Date.now() - started} ms; socket ${server.socket}; user ${server.user} / ${server.password}`);
  console.log(`client: ${server.tool('mysql').join(' ')} --no-defaults -uroot -S ${server.socket}`);
} else if (command === 'stop') {
  await stopMariaDb(join(dir, 'mysql.pid'));
  console.log(`stopped the MySQL in ${dir}`);
} else if (command === 'fetch') {
  const prefix = await ensureMySqlPrefix(MYSQL_PREFIX_DIR, log);
  console.log(`MySQL ${prefix.packages['mysql-server-core']} in ${prefix.root}`);
} else {
  console.error('usage: npm run mysql -- start|stop|fetch [DIR]');
  process.exit(2);
}
