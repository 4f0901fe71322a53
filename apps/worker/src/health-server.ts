import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the worker reports: running, or draining after SIGTERM (no longer ready, still alive). */
export type WorkerHealth = 'ok' | 'draining';

/** A started health listener. */
export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/**
 * GET /healthz on `port` for Kubernetes probes: 200 `{"status":"ok"}` while the worker runs, 503 `draining` once
 * it stops taking jobs. It does not ping Redis or Postgres on purpose: a worker waits through their outages (its jobs
 * are delayed, not failed), and restarting it then would only interrupt running calls. A minimal listener until the
 * metrics listener of `--metrics-port` (issue 13) serves the same path.
 */
export async function startHealthServer(
  port: number,
  health: () => WorkerHealth,
  host = '0.0.0.0',
): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/healthz') {
      res.writeHead(404).end();
      return;
    }
    const status = health();
    res.writeHead(status === 'ok' ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status }));
  });
  server.listen(port, host);
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
