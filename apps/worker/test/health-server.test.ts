import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { startSystem, type TestSystem } from '../../../test/support/start-system.ts';
import { spawnWorker, type WorkerProcess } from '../../../test/support/worker-process.ts';

describe('worker --metrics-port: GET /healthz for Kubernetes probes', () => {
  let sys: TestSystem;
  let worker: WorkerProcess;
  let port: number;
  beforeAll(async () => {
    sys = await startSystem('worker_health', { workers: false });
    port = await freePort();
    worker = spawnWorker(sys.env, ['--metrics-port', String(port), '--grace', '1']);
    await worker.ready;
  }, 60_000);
  afterAll(async () => {
    worker?.proc.kill('SIGKILL');
    await sys?.close();
  });

  it('answers 200 while running, 404 elsewhere, and the process drains and exits 0 on SIGTERM', async () => {
    for (const until = Date.now() + 10_000; ; ) {
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      if (ok || Date.now() > until) {
        expect(ok?.status).toBe(200);
        expect(await ok?.json()).toEqual({ status: 'ok' });
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await fetch(`http://127.0.0.1:${port}/metrics-nope`)).status).toBe(404);
    worker.proc.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });
});
