// Where a running daemon's health server listens, written into its state directory: `metrics.port: 0`
// (any free port) and a wildcard `metrics.host` do not say it, and `sluice status` finds a daemon by
// its config's checkpoint.dir. Only meaningful while the state lock's holder lives.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const ENDPOINT_FILE = 'health-endpoint';

/** A host to connect to for a listening address: a wildcard listens on loopback too. */
export function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

export function endpointUrl(host: string, port: number): string {
  const reachable = reachableHost(host);
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

export async function writeStatusEndpoint(stateDir: string, url: string): Promise<() => Promise<void>> {
  const file = join(stateDir, ENDPOINT_FILE);
  await writeFile(file, url + '\n');
  return () => rm(file, { force: true });
}

export async function readStatusEndpoint(stateDir: string): Promise<string | undefined> {
  const text = await readFile(join(stateDir, ENDPOINT_FILE), 'utf8').catch(() => undefined);
  return text?.trim() || undefined;
}
