import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, TEST_ADMIN_KEY, type TestSystem } from '../../../test/support/start-system.ts';

// Without ORCHEX_ADMIN_KEY the admin surfaces are disabled, not open — whatever credentials are sent.
describe('no admin key configured', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem('admin_off', { workers: false, adminKey: null });
  });
  afterAll(async () => sys?.close());

  it.each(['/admin/queues', '/admin/queues/api/queues', '/dashboard'])('%s → 404', async (path) => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: `Bearer ${TEST_ADMIN_KEY}` },
      { authorization: `Basic ${Buffer.from(':x').toString('base64')}` },
    ]) {
      const res = await fetch(`${sys.url}${path}`, { headers });
      expect(res.status).toBe(404);
    }
  });

  it('a client key can set only its own budget, never the global one', async () => {
    const res = await sys.call('/v1/budget', { method: 'PUT', json: { max_daily_cost: 5 } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ scope: 'key', limit: 5, own_limit: 5 });
    expect((await sys.call('/v1/budget/keys')).status).toBe(403);
  });
});
