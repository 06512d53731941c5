// `npm run mariadb -- start|stop [DIR]`: the private MariaDB by hand, for a person poking around.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMariaDb, stopMariaDb } from './mariadb.ts';

const [command = 'start', dirArgument] = process.argv.slice(2);
const dir = dirArgument ?? join(fileURLToPath(new URL('../..', import.meta.url)), '.sluice', 'demo-mariadb');
if (command === 'start') {
  const server = await startMariaDb({ dir });
  console.log(`MariaDB on 127.0.0.1:${server.port}; socket ${server.socket}; user ${server.user} / ${server.password}`);
} else if (command === 'stop') {
  await stopMariaDb(join(dir, 'mariadb.pid'));
  console.log(`stopped the MariaDB in ${dir}`);
} else {
  console.error('usage: npm run mariadb -- start|stop [DIR]');
  process.exit(2);
}
