import { ApiError, ConnectionError, Orchestrator } from '@orchex/client';
import type { CliIo } from './cli-io.ts';
import { DEFAULT_ORCHEX_URL } from './client-from-env.ts';
import { type DoctorCheck, printDoctorReport } from './doctor-report.ts';

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The installed CLI's preflight: it has no server code, so it asks the running API what a client depends on — that
 * ORCHEX_URL answers as orchex, that the API reaches Redis and Postgres (`GET /healthz`), and that ORCHEX_API_KEY is
 * accepted. The server's own setup (config, migrations, provider keys) is checked by `npm run orchex -- doctor` in
 * the orchex checkout.
 */
export async function runApiDoctor(env: NodeJS.ProcessEnv): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const add = (name: string, status: DoctorCheck['status'], detail: string) => checks.push({ name, status, detail });

  const url = env.ORCHEX_URL?.trim() || DEFAULT_ORCHEX_URL;
  const key = env.ORCHEX_API_KEY?.trim();
  const badUrl = !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol);
  if (badUrl) add('environment', 'fail', `ORCHEX_URL=${url} is not an http(s) URL`);
  else if (!key)
    add('environment', 'fail', "ORCHEX_API_KEY is not set: export a key from the server's ORCHEX_API_KEYS");
  else add('environment', 'ok', `ORCHEX_URL ${env.ORCHEX_URL?.trim() ? url : `${url} (default)`}, ORCHEX_API_KEY set`);
  if (badUrl) {
    for (const name of ['api', 'redis', 'postgres', 'api key']) add(name, 'skip', 'not checked: fix ORCHEX_URL first');
    return checks;
  }

  // /healthz needs no key, so the API is checked even when the key is missing.
  const client = new Orchestrator({ baseUrl: url, apiKey: key || 'unset' });
  try {
    const started = Date.now();
    const health = await client.health();
    add('api', 'ok', `${client.baseUrl} answers (${Date.now() - started} ms)`);
    for (const [name, state] of [
      ['redis', health.redis],
      ['postgres', health.postgres],
    ] as const) {
      add(name, state === 'ok' ? 'ok' : 'fail', state === 'ok' ? 'reachable from the API' : `the API reports ${state}`);
    }
  } catch (err) {
    const hint = err instanceof ConnectionError ? ' — is the API running? (npm start)' : '';
    add('api', 'fail', `${message(err)}${hint}`);
    for (const name of ['redis', 'postgres', 'api key']) add(name, 'skip', 'not checked: the API did not answer');
    return checks;
  }

  if (!key) add('api key', 'skip', 'not checked: ORCHEX_API_KEY is not set');
  else {
    try {
      await client.getBudget();
      add('api key', 'ok', 'ORCHEX_API_KEY accepted');
    } catch (err) {
      const rejected = err instanceof ApiError && err.status === 401;
      add('api key', 'fail', rejected ? "ORCHEX_API_KEY is not one of the server's ORCHEX_API_KEYS" : message(err));
    }
  }
  return checks;
}

/** `orchex doctor` of the installed CLI: prints the checks; exit 1 when any failed. */
export async function apiDoctorCommand(o: { json?: boolean }, io: CliIo): Promise<number> {
  return printDoctorReport(await runApiDoctor(io.env), o, io);
}
