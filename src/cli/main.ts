// The sluice command line. It only wires: each command lives in its own module.
import { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { isSluiceError } from '../errors.ts';
import { openStorage } from '../runtime/embedded-runtime.ts';
import { runDaemon } from './run-command.ts';

// EX_CONFIG from sysexits.h: the systemd unit does not restart on it, since a restart cannot help.
const EXIT_CONFIG = 78;

const program = new Command();
program
  .name('sluice')
  .description('Change-data capture from MySQL/MariaDB binlogs into Hive tables, exactly once.')
  .showHelpAfterError();

program
  .command('run')
  .description('Run the daemon: read the binlog, write Hive tables, commit on every checkpoint.')
  .requiredOption('-c, --config <file>', 'configuration file (YAML)')
  .addHelpText('after', '\nExample:\n  sluice run --config /etc/sluice/sluice.yaml\n')
  .action(async (options: { config: string }) => {
    const config = await loadConfig(options.config);
    await runDaemon(config);
  });

program
  .command('query')
  .description('Print the committed rows of a Hive table (or run SQL over the warehouse with DuckDB).')
  .argument('[table]', "a table as 'db.table'")
  .requiredOption('-c, --config <file>', 'configuration file (YAML)')
  .option('--sql <sql>', "SQL over the warehouse; tables are named db.table, e.g. \"SELECT count(*) FROM ods.orders\"")
  .option('--limit <n>', 'rows to print when no --sql is given', '50')
  .option('--json', 'print JSON lines instead of a table')
  .addHelpText('after', '\nExamples:\n  sluice query ods.orders --config sluice.yaml\n  sluice query --sql "SELECT _op, count(*) FROM ods.orders GROUP BY 1" --config sluice.yaml\n')
  .action(async (table: string | undefined, options: { config: string; sql?: string; limit: string; json?: boolean }) => {
    const config = await loadConfig(options.config);
    // Loaded here, not at the top: DuckDB's native module is heavy and `run` never needs it.
    const { formatRows, queryWarehouse } = await import('./query.ts');
    const storage = openStorage(config);
    const result = await queryWarehouse({
      catalog: storage.catalog,
      fs: storage.fs,
      ...(table ? { table } : {}),
      ...(options.sql ? { sql: options.sql } : {}),
      limit: Number(options.limit),
    });
    if (options.json) {
      for (const row of result.rows) process.stdout.write(JSON.stringify(Object.fromEntries(result.columns.map((column: string, index: number) => [column, row[index]]))) + '\n');
    } else {
      process.stdout.write(formatRows(result) + '\n');
    }
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (isSluiceError(error)) {
    process.stderr.write(`sluice: ${error.message} [${error.code}]\n`);
    process.exitCode = error.code === 'SLUICE_CONFIG_INVALID' || error.code === 'SLUICE_CONFIG_UNREADABLE' ? EXIT_CONFIG : 1;
  } else {
    process.stderr.write(`sluice: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  }
}
