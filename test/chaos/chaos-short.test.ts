import { describe, expect, it } from 'vitest';
import { SHORT_RUN } from '../../scripts/chaos/chaos-options.ts';
import { formatChaosReport } from '../../scripts/chaos/chaos-report.ts';
import { checkInvariants } from '../../scripts/chaos/check-invariants.ts';
import { runChaosScenario } from '../../scripts/chaos/run-chaos-scenario.ts';

// The short variant of `npm run chaos` (issue 9): the same faults on private Redis and Postgres instances and real
// API/worker processes, at a size that fits in `npm test`. It touches neither the shared Redis nor the shared
// Postgres. A correct system passes in well under 90 s; a task that never ends holds the test until the 2-minute
// deadline after the last recovery, hence the long timeout.
describe('fault drill, short variant of npm run chaos', () => {
  it('worker kill -9s, a Redis kill -9 with AOF restart and a Postgres outage: every promise holds', async () => {
    const report = await runChaosScenario(SHORT_RUN);
    console.log(formatChaosReport(report));
    // Soft: a failing run reports every broken invariant with its numbers, not just the first.
    for (const r of checkInvariants(report)) expect.soft(r.ok, `${r.name}: ${r.detail}`).toBe(true);
  }, 300_000);
});
