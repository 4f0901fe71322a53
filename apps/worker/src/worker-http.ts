import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Options of the worker's small HTTP listener (`--metrics-port`). */
export interface WorkerHttpOptions {
  /** 0 = any free port. */
  port: number;
  /** Default 0.0.0.0, so a scraper in another container or pod reaches it. */
  host?: string;
  registry: Registry;
  /** Whether the worker takes jobs (running, Redis connected, not draining): /healthz answers 200, else 503. */
  ready: () => boolean;
  /**
   * Bearer tokens /metrics accepts: ORCHEX_METRICS_TOKEN and ORCHEX_ADMIN_KEY, as on the API. None configured →
   * /metrics answers 404 (disabled, not open), like the API's admin surfaces.
   */
  tokens: Array<string | undefined>;
}

/** A started listener: where it listens and how to stop it. */
export interface WorkerHttp {
  port: number;
  close(): Promise<void>;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * `GET /metrics` (Prometheus text; auth as above), `GET /healthz` (no auth, no data beyond up/draining: readiness —
 * taking jobs, Redis connected, not draining) and `GET /livez` (liveness: the process answers). Plain node:http: two routes do not need a framework in the worker.
 */
export async function startWorkerHttp(opts: WorkerHttpOptions): Promise<WorkerHttp> {
  const allowed = opts.tokens.filter((t): t is string => Boolean(t)).map(digest);
  const authorized = (req: IncomingMessage) => {
    const h = req.headers.authorization;
    if (!h?.startsWith('Bearer ')) return false;
    const d = digest(h.slice(7).trim());
    let ok = false;
    for (const a of allowed) ok = timingSafeEqual(d, a) || ok; // every digest compared: timing says nothing
    return ok;
  };
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: { code: 'method_not_allowed' } });
    // Liveness: the process answers. Not readiness: a worker waits out Redis and Postgres outages by design, and a
    // restart would only cut its running calls (whose answers may already be paid for).
    if (path === '/livez') return json(res, 200, { status: 'alive' });
    if (path === '/healthz') {
      const up = opts.ready();
      return json(res, up ? 200 : 503, { status: up ? 'ok' : 'unavailable' });
    }
    if (path !== '/metrics')
      return json(res, 404, { error: { code: 'not_found', message: 'GET /metrics, /healthz or /livez' } });
    if (allowed.length === 0) {
      return json(res, 404, {
        error: { code: 'disabled', message: 'metrics are disabled: set ORCHEX_METRICS_TOKEN (or ORCHEX_ADMIN_KEY)' },
      });
    }
    if (!authorized(req)) {
      res.setHeader('www-authenticate', 'Bearer');
      return json(res, 401, { error: { code: 'unauthorized', message: 'Bearer ORCHEX_METRICS_TOKEN required' } });
    }
    opts.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': opts.registry.contentType, 'cache-control': 'no-store' });
        res.end(text);
      },
      () => json(res, 500, { error: { code: 'internal', message: 'metrics could not be collected' } }),
    );
  });
  server.listen(opts.port, opts.host ?? '0.0.0.0');
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
