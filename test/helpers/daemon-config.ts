// The daemon's YAML config for a private MariaDB, written one way for the tests (daemon.ts), the
// benchmark and the demo. A plain text builder with no test framework in it, so bench/ and scripts/
// may import it as they import test/servers/; the YAML fragments callers pass (routing rules, sink
// storage) are the same text a user would write, which is the point of a config test.

export interface DaemonConfigOptions {
  /** The server to read, as test/servers/mariadb.ts describes it (port and the replication user). */
  server: { port: number; user: string };
  /** The environment variable that holds the password (the config names it, never the secret). */
  passwordEnv: string;
  serverId: number;
  /** A YAML flow value for source.start, e.g. `{ gtid: '0-1-42' }` or `earliest`. */
  start: string;
  /** Lines under `routing:`, indented by two spaces. */
  routing: string;
  /** Lines under `sink:`, indented by two spaces. */
  sink: string;
  checkpointSeconds: number;
  /** More lines under `checkpoint:`, indented by two spaces (a state store on HDFS, say). */
  checkpoint?: string;
  /** YAML appended at the end (top-level keys). */
  extra?: string;
  /** A comment line or two at the top, for a config a person will read. */
  header?: string;
}

/** The storage a test or the demo uses when it names none: local files and the local catalog, in the workspace. */
export const LOCAL_STORAGE_YAML = '  filesystem:\n    root: ./warehouse\n  catalog:\n    dir: ./catalog';

export function daemonConfigYaml(options: DaemonConfigOptions): string {
  return `${options.header ?? ''}source:
  host: 127.0.0.1
  port: ${options.server.port}
  user: ${options.server.user}
  password: \${env:${options.passwordEnv}}
  serverId: ${options.serverId}
  start: ${options.start}
routing:
${options.routing}
sink:
${options.sink}
checkpoint:
  intervalSeconds: ${options.checkpointSeconds}
  dir: ./state
${options.checkpoint ? `${options.checkpoint}\n` : ''}log:
  level: info
metrics:
  port: 0   # any free port, so a run never collides with a running exporter
${options.extra ?? ''}`;
}
