// /metrics, /status, /health and /ready over plain HTTP. Readiness means what a load balancer or an alert
// needs to know: the binlog is connected and checkpoints are still being committed on time.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SluiceError } from '../core/errors.ts';
import type { Registry } from 'prom-client';

export interface ReadinessProbe {
  /** Undefined when ready, else the reason it is not. */
  notReadyReason(): string | undefined;
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export async function startHealthServer(host: string, port: number, metrics: { registry: Registry }, readiness: ReadinessProbe, status?: () => Promise<unknown>): Promise<HealthServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      metrics.registry
        .metrics()
        .then((body) => {
          response.writeHead(200, { 'content-type': metrics.registry.contentType });
          response.end(body);
        })
        .catch((error: unknown) => {
          response.writeHead(500, { 'content-type': 'text/plain' });
          response.end(String(error));
        });
      return;
    }
    if (path === '/status' && status) {
      status()
        .then((report) => {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(JSON.stringify(report) + '\n');
        })
        .catch((error: unknown) => {
          response.writeHead(500, { 'content-type': 'text/plain' });
          response.end(String(error));
        });
      return;
    }
    if (path === '/health') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"status":"alive"}\n');
      return;
    }
    if (path === '/ready') {
      const reason = readiness.notReadyReason();
      response.writeHead(reason ? 503 : 200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(reason ? { status: 'not ready', reason } : { status: 'ready' }) + '\n');
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('not found: try /metrics, /status, /health or /ready\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new SluiceError('SLUICE_METRICS_LISTEN', `cannot serve metrics on ${host}:${port} (metrics.host, metrics.port): ${error.code ?? error.message}`, {
          cause: error,
          context: { configKey: 'metrics.port', server: `${host}:${port}` },
        }),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
