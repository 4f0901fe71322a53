import { fakeProviderEnv } from './fake-provider-env.ts';
import { startFakeLlmServer } from './start-fake-llm-server.ts';

// `npm run fake-llm`: FAKE_LLM_PORT (default 4010), FAKE_LLM_HOST (default 127.0.0.1; 0.0.0.0 in a container),
// FAKE_LLM_LATENCY_MS (default 0): latency of every unscripted answer, for demos and benchmarks.
const port = Number(process.env.FAKE_LLM_PORT ?? 4010);
const host = process.env.FAKE_LLM_HOST ?? '127.0.0.1';
const latencyMs = Number(process.env.FAKE_LLM_LATENCY_MS ?? 0);

const server = await startFakeLlmServer({ port, host });
if (latencyMs > 0) server.setDefault('*', { type: 'ok', latencyMs });

console.log(
  `fake LLM server listening on ${server.url} (control: POST /__fake/script, POST /__fake/reset, GET /__fake/log)`,
);
console.log('point orchex at it with:');
for (const [name, value] of Object.entries(fakeProviderEnv(server.url))) console.log(`${name}=${value}`);

const stop = () => {
  void server.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
