import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startWorkerHttp, type WorkerHttp } from '../src/worker-http.ts';

// The worker's --metrics-port listener on a real port: /healthz follows the pool's readiness, /metrics its auth.
const TOKEN = 'metrics-token-00000001';
let http: WorkerHttp | undefined;
afterEach(async () => {
  await http?.close();
  http = undefined;
});

async function start(tokens: Array<string | undefined>, ready: () => boolean) {
  const registry = new Registry();
  new Counter({ name: 'orchex_probe_total', help: 'probe', registers: [registry] }).inc(3);
  http = await startWorkerHttp({ port: 0, host: '127.0.0.1', registry, ready, tokens });
  return `http://127.0.0.1:${http.port}`;
}

describe('worker HTTP listener', () => {
  it('/healthz: 200 while the pool takes jobs, 503 while it drains or lost Redis; no auth, no details', async () => {
    let up = true;
    const url = await start([TOKEN], () => up);
    const ok = await fetch(`${url}/healthz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ok' });
    up = false;
    const down = await fetch(`${url}/healthz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: 'unavailable' });
    // Liveness stays 200: a worker waits outages out, and a restart would cut its running calls.
    const live = await fetch(`${url}/livez`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'alive' });
  });

  it('/metrics: the token (or the admin key) opens it; anything else is 401', async () => {
    const url = await start([TOKEN, undefined], () => true);
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0000000' } })).status).toBe(
      401,
    );
    const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toContain('orchex_probe_total 3');
  });

  it('/metrics is disabled (404), not open, when no token is configured', async () => {
    const url = await start([undefined, undefined], () => true);
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('disabled');
  });

  it('answers other paths with 404 and other methods with 405', async () => {
    const url = await start([TOKEN], () => true);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});
