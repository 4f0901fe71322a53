import type { FakeLogEntry } from '@orchex/providers/fake';
import { describe, expect, it } from 'vitest';
import { accountCalls, type KillEvent, type RecordedUsage } from '../../scripts/chaos/account-calls.ts';

// The drill's accounting decides three of its verdicts, so it gets its own fast checks: each rule must be able to
// blame the system, and a kill must excuse only what it could really have taken away.

let seq = 0;
const call = (startedAt: number, finishedAt: number | null, outcome: FakeLogEntry['outcome'], output = 0) =>
  ({
    seq: ++seq,
    provider: 'anthropic',
    model: 'm',
    path: '/v1/messages',
    startedAt,
    finishedAt,
    status: outcome === 'ok' ? 200 : null,
    outcome,
    inFlightAtStart: 1,
    inputTokens: outcome === 'ok' ? 10 : null,
    outputTokens: outcome === 'ok' ? output : null,
    apiKey: null,
    headers: {},
  }) satisfies FakeLogEntry;
const rows = (...outputs: number[]): RecordedUsage[] =>
  outputs.map((o) => ({ model: 'm', inputTokens: 10, outputTokens: o, count: 1 }));
const account = (logs: FakeLogEntry[][], kills: KillEvent[], recorded: RecordedUsage[]) =>
  accountCalls(
    logs,
    kills,
    1000,
    (e) => (e.outputTokens ?? 0) * 10,
    (e) => e.model,
    recorded,
  );

describe('drill accounting', () => {
  it('every delivered answer recorded: used = billed, nothing lost', () => {
    const a = account([[call(0, 100, 'ok', 1001), call(0, 200, 'ok', 1002)]], [], rows(1001, 1002));
    expect(a).toMatchObject({ calls: 2, billedAnswers: 2, usedAnswers: 2, usedMicros: 20_030, lostAnswers: 0 });
    expect(a.phantomAttempts).toBe(0);
  });

  it('an answer delivered far from any kill and not recorded is lost (paid, never recorded)', () => {
    const a = account([[call(0, 5000, 'ok', 1001), call(0, 5100, 'ok', 1002)]], [], rows(1001));
    expect(a).toMatchObject({ usedAnswers: 2, lostAnswers: 1, lostMicros: 10_020, lostDeliveredAt: [5100] });
  });

  it('a worker kill excuses its own cut-off calls and unrecorded answers of its last seconds, not other workers', () => {
    const kill: KillEvent = { target: 0, at: 10_000, exitAt: 10_020 };
    const slot0 = [
      call(8000, 9500, 'ok', 1001), // answered 0.5 s before the kill, not recorded: died with the worker
      call(9000, 10_010, 'aborted'), // cut off by the kill
      call(8500, 9800, 'ok', 1004), // answered just before the kill but recorded: the task will not run again
      call(5000, 6000, 'ok', 1002), // answered 4 s before: must be recorded
    ];
    const slot1 = [call(9000, 9600, 'ok', 1003)]; // another worker's answer: must be recorded
    const a = account([slot0, slot1], [kill], rows(1002, 1004));
    expect(a.perKill).toEqual([{ target: 0, at: 10_000, calls: 1 }]);
    expect(a.inFlightAtKills).toBe(2);
    expect(a).toMatchObject({ diedAnswers: 1, usedAnswers: 3, lostAnswers: 1, lostDeliveredAt: [9600] });
  });

  it('an excusable answer the dying worker still recorded counts as used', () => {
    const kill: KillEvent = { target: 0, at: 10_000, exitAt: 10_020 };
    const a = account([[call(8000, 9900, 'ok', 1001)]], [kill], rows(1001));
    expect(a).toMatchObject({ diedAnswers: 0, usedAnswers: 1, lostAnswers: 0, phantomAttempts: 0 });
  });

  it('a Redis kill allows the calls in flight at that moment, on every worker, and excuses no answer', () => {
    const kill: KillEvent = { target: 'redis', at: 10_000, exitAt: 10_005 };
    const a = account(
      [[call(9000, 11_000, 'ok', 1001)], [call(9500, 9900, 'ok', 1002), call(9800, null, 'pending')]],
      [kill],
      rows(),
    );
    expect(a.inFlightAtKills).toBe(2);
    expect(a).toMatchObject({ diedAnswers: 0, lostAnswers: 2 });
  });

  it('attempt rows with no delivered answer, or more rows than answers, are phantoms', () => {
    const a = account([[call(0, 100, 'ok', 1001)]], [], [...rows(1001, 1001, 1999)]);
    expect(a.phantomAttempts).toBe(2);
    expect(a.usedAnswers).toBe(1);
  });
});
