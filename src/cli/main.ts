// The sluice command line. It only wires: each command lives in its own module, imported when that
// command runs, so that a command loads only the libraries it uses (a daemon restart, `--version` or
// `status` does not wait for DuckDB, kafkajs or the Hive driver to load).
import { Argument, Command } from 'commander';
import { configSourceKind, loadConfig, loadKafkaConfig, type ConfigUse } from '../config/load.ts';
import type { DaemonConfig, SluiceConfig } from '../config/schema.ts';
import { isSluiceError } from '../core/errors.ts';
import { localPlaces } from '../config/local-places.ts';
import { nameDiskError, type LocalPlace } from '../core/local-disk.ts';
import type { LogFormat } from '../core/log-format.ts';
import { createLogger } from '../core/logger.ts';
import { openStorage } from '../runtime/embedded-runtime.ts';
import type { TargetOptions } from './checkpoint-command.ts';
import { exitCodeOf } from './exit-codes.ts';
import { packageVersion } from './version.ts';
import { describeCommand } from './command-reference.ts';
import { renderManPage } from './man-page.ts';
import { COMPLETION_SHELLS, renderBashCompletion } from './shell-completion.ts';

/** The local directories of the config a command loaded: an fs error in one is named after its key (see the end). */
let places: LocalPlace[] = [];
/** Its log.format, for the fatal line: the same form as the lines before it. */
let logFormat: LogFormat = 'auto';

function remember<T extends Omit<SluiceConfig, 'source'>>(config: T): T {
  places = localPlaces(config);
  logFormat = config.log.format;
  return config;
}

async function load(file: string, use: ConfigUse = 'all'): Promise<SluiceConfig> {
  return remember(await loadConfig(file, process.env, use));
}

/** Either daemon's whole config, by its source.kind: for the commands that read only the state and the sink. */
async function loadDaemon(file: string): Promise<DaemonConfig> {
  return (await configSourceKind(file)) === 'kafka' ? remember(await loadKafkaConfig(file)) : load(file);
}

/** The sink side of any daemon's config (`sluice query`), a Kafka loader's too. */
async function loadSinkSide(file: string): Promise<Omit<SluiceConfig, 'source'>> {
  return (await configSourceKind(file)) === 'kafka' ? remember(await loadKafkaConfig(file)) : load(file, 'sink');
}

const program = new Command();
program
  .name('sluice')
  .description('Change-data capture from MySQL/MariaDB binlogs into Hive tables, exactly once.')
  .version(packageVersion(), '-V, --version', 'print the version of sluice')
  .showHelpAfterError();

program
  .command('run')
  .description('Run the daemon: read the binlog, write Hive tables, commit on every checkpoint.')
  .requiredOption('-c, --config <file>', 'configuration file (YAML)')
  .addHelpText('after', '\nExample:\n  sluice run --config /etc/sluice/sluice.yaml\n')
  .action(async (options: { config: string }) => {
    const { runDaemon } = await import('./run-command.ts');
    // A Kafka daemon's config has a source of its own kind; the other commands read the binlog's.
    if ((await configSourceKind(options.config)) === 'kafka') return runDaemon(remember(await loadKafkaConfig(options.config)));
    const config = await load(options.config);
    await runDaemon(config);
  });

program
  .command('query')
  .description('Print the committed rows of a Hive table (or run SQL over the warehouse with DuckDB).')
  .argument('[table]', "a table as 'db.table'")
  .requiredOption('-c, --config <file>', 'configuration file (YAML)')
  .option('--sql <sql>', "SQL over the warehouse; tables are named db.table, e.g. \"SELECT count(*) FROM ods.orders\"")
  .option('--current <table>', "the current state of a changelog table 'db.table' (its view db.table_current)")
  .option('--key <columns>', 'the key columns (col[,col]) of the current-state views, instead of the primary key sluice recorded with the table (needed where it recorded none)')
  .option('--limit <n>', 'rows to print when no --sql is given', '50')
  .option('--json', 'print JSON lines instead of a table')
  .addHelpText(
    'after',
    '\nExamples:\n  sluice query ods.orders --config sluice.yaml\n  sluice query --sql "SELECT _op, count(*) FROM ods.orders GROUP BY 1" --config sluice.yaml\n' +
      '  sluice query --current ods.orders --config sluice.yaml\n  sluice query --current ods.orders --key id --config sluice.yaml\n  sluice query --sql "SELECT count(*) FROM ods.orders_current" --config sluice.yaml\n',
  )
  .action(async (table: string | undefined, options: { config: string; sql?: string; current?: string; key?: string; limit: string; json?: boolean }) => {
    // Only the sink's settings: query reads files and never connects to the source, so it needs neither
    // the MySQL password (${env:...} unset is fine) nor the source's TLS files.
    const config = await loadSinkSide(options.config);
    // Loaded here, not at the top: DuckDB's native module is heavy and `run` never needs it.
    const { formatRows, queryWarehouse } = await import('./query.ts');
    const { parseKey } = await import('./query-current.ts');
    const key = parseKey(options.key);
    const storage = openStorage(config);
    const result = await queryWarehouse({
      catalog: storage.catalog,
      fs: storage.fs,
      ...(table ? { table } : {}),
      ...(options.sql ? { sql: options.sql } : {}),
      ...(options.current ? { current: options.current } : {}),
      ...(key ? { key } : {}),
      snapshotSuffix: config.sink.materialize.suffix,
      limit: Number(options.limit),
    });
    if (options.json) {
      for (const row of result.rows) process.stdout.write(JSON.stringify(Object.fromEntries(result.columns.map((column: string, index: number) => [column, row[index]]))) + '\n');
    } else {
      process.stdout.write(formatRows(result) + '\n');
    }
  });

program
  .command('check')
  .description('Check a configuration against the live servers: config, MySQL, binlog settings, grants, positions, directories.')
  .requiredOption('-c, --config <file>', 'configuration file (YAML)')
  .addHelpText(
    'after',
    '\nPrints one line per check and exits 0 when all pass, 1 otherwise. Then previews the routing on the\n' +
      "server's tables: which go to which Hive table, which are left out, and a WARN line for each include,\n" +
      'exclude or rule that matches no table, and, before a first start that reads the tables\n' +
      '(snapshot.mode other than never), for each captured table without a key (warnings do not change\n' +
      'the exit status). With sink.kind kafka the sink\'s brokers are checked instead of the warehouse and\n' +
      'catalog; with ha.zookeeper, the election (read only). Reads no event and writes no file, but for\n' +
      'checkpoint.store hdfs: a probe file in the state directory, read back and deleted at once.\n\n' +
      'Examples:\n  sluice check --config /etc/sluice/sluice.yaml\n  sluice check -c /etc/sluice/sluice.yaml && systemctl restart sluice   # gate a deploy on it\n',
  )
  .action(async (options: { config: string }) => {
    const { formatChecks, runChecks } = await import('./check-command.ts');
    const report = await runChecks(options.config);
    process.stdout.write(formatChecks(report));
    if (report.items.some((item) => item.status !== 'ok')) process.exitCode = 1;
  });

program
  .command('sync')
  .description('Copy a MySQL table over N channels to files (local, HDFS, FTP) or a MySQL table; resumes where it stopped.')
  .requiredOption('-j, --job <file>', 'batch job file (YAML)')
  .option('--no-progress', 'no progress block on a terminal (progress still goes to the log)')
  .option('--again', 'start a new copy even if the last run of this job finished')
  .addHelpText(
    'after',
    '\nRun the same job again after a stop or a crash and it resumes from its last checkpoint; once it has\n' +
      'finished, running it again does nothing (exit 0) unless --again asks for a new copy.\n\nExample:\n  sluice sync --job config/sync.example.yaml\n',
  )
  .action(async (options: { job: string; progress: boolean; again?: boolean }) => {
    const { runSyncCommand } = await import('./sync-command.ts');
    await runSyncCommand(options.job, { progress: options.progress, again: options.again === true });
  });

program
  .command('status')
  .description('One screen for a running daemon: source, position, lag, changes/s, last checkpoint, tables, compaction, errors.')
  .requiredOption('-c, --config <file>', 'configuration file (YAML) of the daemon')
  .option('--json', "print the daemon's /status JSON as it answers it")
  .addHelpText(
    'after',
    '\nFinds the daemon by the config\'s checkpoint.dir and asks its health server (metrics.host/port) for\n' +
      '/status. Exits 0 when it answered, 3 when no daemon runs (then prints the checkpoint it resumes\n' +
      'from; with --json {"running": false, "checkpoint": ...}), 1 when one runs but does not answer.\n\n' +
      'Examples:\n  sluice status --config /etc/sluice/sluice.yaml\n  sluice status --config sluice.yaml --json | jq .lagSeconds\n',
  )
  .action(async (options: { config: string; json?: boolean }) => {
    const config = await loadDaemon(options.config);
    const { statusCommand } = await import('./status-command.ts');
    const outcome = await statusCommand(config, { json: options.json });
    process.stdout.write(outcome.text);
    process.exitCode = outcome.exitCode;
  });

program
  .command('snapshot')
  .description('Ask the daemon to read one source table again while it streams: a truncate marker, then every row as op read.')
  .argument('<table>', "a source table as 'db.table' that the routing captures")
  .requiredOption('-c, --config <file>', 'configuration file (YAML) of the daemon')
  .addHelpText(
    'after',
    "\nLeaves a request in the config's checkpoint.dir: the running daemon takes it within a second, a\n" +
      'stopped one at its next start. Needs snapshot.mode other than never. See docs/snapshot.md.\n\n' +
      'Example:\n  sluice snapshot shop.orders --config /etc/sluice/sluice.yaml\n',
  )
  .action(async (table: string, options: { config: string }) => {
    const config = await load(options.config, 'sink');
    const { requestSnapshot } = await import('./snapshot-command.ts');
    process.stdout.write(await requestSnapshot(config, table));
  });

program
  .command('materialize')
  .description("Fold each changelog table's current state into its snapshot table now (sink.materialize), with the daemon stopped.")
  .argument('[tables...]', "tables as 'db.table' (default: sink.materialize.tables)")
  .requiredOption('-c, --config <file>', 'configuration file (YAML) of the daemon')
  .addHelpText(
    'after',
    '\nHolds the state lock, so it refuses while the daemon runs (which materializes on its schedule).\n' +
      'See docs/current-state.md.\n\nExample:\n  sluice materialize ods.orders --config /etc/sluice/sluice.yaml\n',
  )
  .action(async (tables: string[], options: { config: string }) => {
    const config = await loadSinkSide(options.config);
    const { materializeNow } = await import('./materialize-command.ts');
    process.stdout.write(await materializeNow(config, tables));
  });

const checkpoint = program
  .command('checkpoint')
  .description('Show or move the checkpoint: the binlog position the daemon resumes from.');

checkpoint
  .command('show')
  .description('Print the newest checkpoint record: id, time, binlog position and GTID, next sequence, pending commits.')
  .requiredOption('-c, --config <file>', 'configuration file (YAML)')
  .option('--json', 'print the raw record as JSON (null when there is none)')
  .addHelpText('after', '\nExamples:\n  sluice checkpoint show --config /etc/sluice/sluice.yaml\n  sluice checkpoint show --config sluice.yaml --json | jq .source.position\n')
  .action(async (options: { config: string; json?: boolean }) => {
    const config = await loadDaemon(options.config);
    const { showCheckpoint } = await import('./checkpoint-command.ts');
    process.stdout.write(await showCheckpoint(config, { json: options.json }));
  });

checkpoint
  .command('set')
  .description('Move a stopped daemon to another binlog position by writing a new checkpoint record.')
  .requiredOption('-c, --config <file>', 'configuration file (YAML)')
  .option('--file <name>', 'a binlog file the server still has (SHOW BINARY LOGS), with --position')
  .option('--position <n>', 'byte offset in --file of a transaction boundary (4 is the start of the file)')
  .option('--gtid <set>', "a GTID position (MariaDB '0-1-42') or set (MySQL 'uuid:1-77') already applied")
  .option('--timestamp <instant>', "the first transaction written at or after an ISO 8601 instant with its zone ('2026-11-25T10:00:00Z')")
  .option('--earliest', 'the oldest binlog the server still has')
  .option('--latest', 'the end of the binlog now: only changes made from now on')
  .addHelpText(
    'after',
    '\nRefuses while a daemon runs on the same checkpoint.dir. First carries out the newest checkpoint\'s\n' +
      'commits and deletes uncommitted staging, as a start would, then writes the new record. Moving forward\n' +
      'skips the changes in between; moving back reads them again (with new, larger _seq numbers).\n\n' +
      'Examples:\n  systemctl stop sluice\n  sluice checkpoint set --config /etc/sluice/sluice.yaml --file mysql-bin.000042 --position 4\n' +
      "  sluice checkpoint set --config /etc/sluice/sluice.yaml --gtid 0-1-1500\n" +
      "  sluice checkpoint set --config /etc/sluice/sluice.yaml --timestamp 2026-11-25T10:00:00Z\n" +
      "  sluice checkpoint set --config /etc/sluice/sluice.yaml --latest\n  systemctl start sluice\n",
  )
  .action(async (options: TargetOptions & { config: string }) => {
    const { kafkaCheckpointSetRefused, setCheckpoint, targetFromOptions } = await import('./checkpoint-command.ts');
    const target = targetFromOptions(options);
    if ((await configSourceKind(options.config)) === 'kafka') throw kafkaCheckpointSetRefused(options.config);
    const config = await load(options.config);
    process.stdout.write(await setCheckpoint(config, target));
  });

checkpoint
  .command('skip-table')
  .description('Give up the missing changes of a stopped table: it goes on from where the other tables stand.')
  .argument('<table>', 'the stopped target table, db.table as `checkpoint show` names it')
  .requiredOption('-c, --config <file>', 'configuration file (YAML)')
  .addHelpText(
    'after',
    '\nA table stopped by a change it cannot follow is retried at every start from where it stopped, which\n' +
      'needs the binlog from there. This gives that up for one table, knowingly: its changes in between\n' +
      'are never written. Refuses while a daemon runs on the same checkpoint.dir.\n\n' +
      'Example:\n  systemctl stop sluice\n  sluice checkpoint skip-table ods.orders --config /etc/sluice/sluice.yaml\n  systemctl start sluice\n',
  )
  .action(async (table: string, options: { config: string }) => {
    const config = await loadDaemon(options.config);
    const { skipTable } = await import('./checkpoint-command.ts');
    process.stdout.write(await skipTable(config, table));
  });

program
  .command('completion')
  .description('Print a shell completion script for sluice (commands, options, file names).')
  .addArgument(new Argument('<shell>', 'the shell').choices(COMPLETION_SHELLS))
  .addHelpText('after', '\nExamples:\n  sluice completion bash > /etc/bash_completion.d/sluice\n  source <(sluice completion bash)\n')
  .action(() => {
    process.stdout.write(renderBashCompletion(describeCommand(program)));
  });

program
  .command('man')
  .description('Print the sluice(1) manual page (roff), made from these same command definitions.')
  .addHelpText('after', '\nExample:\n  sluice man | man -l -\n')
  .action(() => {
    process.stdout.write(renderManPage(describeCommand(program), packageVersion()));
  });

try {
  await program.parseAsync(process.argv);
} catch (caught) {
  // `run` names its own (and retries a full disk); the one-shot commands stop and are run again.
  const error = nameDiskError(caught, places, 'stop');
  const exitCode = exitCodeOf(error);
  if (isSluiceError(error)) {
    process.stderr.write(`sluice: ${error.message} [${error.code}]\n`);
  } else {
    process.stderr.write(`sluice: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
  }
  logFatal(error, exitCode);
  process.exitCode = exitCode;
}

/**
 * The daemons (`run`, and `sync` under systemd) also put their last word in the JSON log, with its
 * code, so a log pipeline that reads only the JSON lines sees why the process ended. `run` logs on
 * stdout, `sync` on stderr (its progress owns stdout): the same stream each logs on while it runs.
 */
function logFatal(error: unknown, exitCode: number): void {
  const command = process.argv[2];
  if (command !== 'run' && command !== 'sync') return;
  const code = isSluiceError(error) ? error.code : 'SLUICE_UNEXPECTED';
  const message = isSluiceError(error) ? error.message : `unexpected error: ${(error as Error).message ?? String(error)}`;
  createLogger('fatal', command === 'run' ? 1 : 2, logFormat).fatal({ code, exitCode, err: error }, message);
}
