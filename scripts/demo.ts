import { fakeProviderEnv, startFakeLlmServer } from '@orchex/providers/fake';
import { runOrchex } from './run-orchex.ts';

/**
 * `npm run demo`: the whole path with no API keys. Starts the fake wire server, points every provider at it, then
 * runs migrations, the API and a worker. Keys default to demo values (printed below) unless set in the env.
 */
const fake = await startFakeLlmServer({ port: Number(process.env.FAKE_LLM_PORT ?? 4010) });
Object.assign(process.env, fakeProviderEnv(fake.url));
fake.setDefault('*', { type: 'ok', latencyMs: Number(process.env.FAKE_LLM_LATENCY_MS ?? 300) });
process.env.ORCHEX_API_KEYS ||= 'demo-key-0000000000000001';
process.env.ORCHEX_ADMIN_KEY ||= 'demo-admin-000000000000001';
const { url } = await runOrchex({ migrate: true, name: 'orchex-demo' });
const key = process.env.ORCHEX_API_KEYS.split(',')[0];
console.log(`
orchex demo is running at ${url} (fake LLM at ${fake.url})
  curl -s -X POST ${url}/v1/tasks -H 'authorization: Bearer ${key}' -H 'content-type: application/json' \\
       -d '{"prompt":"Write a Python function to calculate fibonacci","task_type":"code"}'
  curl -s '${url}/v1/tasks/<id>?wait=30' -H 'authorization: Bearer ${key}'
  Bull Board: ${url}/admin/queues   (user: any, password: ${process.env.ORCHEX_ADMIN_KEY})
`);
