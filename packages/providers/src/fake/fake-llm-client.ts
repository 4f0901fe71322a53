import type { FakeStep } from './fake-step.ts';
import type { FakeLoggedRequest } from './request-log.ts';

/** The fake server's log as GET /__fake/log returns it. */
export interface FakeLogSnapshot {
  entries: FakeLoggedRequest[];
  /** Requests in flight now, per model. */
  inFlight: Record<string, number>;
  /** Most requests in flight at once since start or the last reset, per model. */
  peak: Record<string, number>;
}

/** Scripts a fake server in another process (e.g. one started by `npm run fake-llm` or a test's parent). */
export interface FakeLlmClient {
  script(model: string, steps: readonly FakeStep[]): Promise<void>;
  setDefault(model: string, behaviour: FakeStep): Promise<void>;
  /** Clears scripts, defaults and the log. */
  reset(): Promise<void>;
  log(): Promise<FakeLogSnapshot>;
}

/** A client for the fake server's /__fake control routes at `url`. */
export function createFakeLlmClient(url: string): FakeLlmClient {
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${url}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const json: unknown = await res.json();
    if (!res.ok) throw new Error(`fake LLM server ${method} ${path} → ${res.status}: ${JSON.stringify(json)}`);
    return json;
  };
  return {
    script: async (model, steps) => void (await call('POST', '/__fake/script', { model, steps })),
    setDefault: async (model, step) => void (await call('POST', '/__fake/default', { model, step })),
    reset: async () => void (await call('POST', '/__fake/reset', {})),
    log: async () => (await call('GET', '/__fake/log')) as FakeLogSnapshot,
  };
}
