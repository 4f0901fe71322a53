import type { FakeLogEntry } from '@orchex/providers/fake';

/** One kill -9 of the drill: a worker slot's process, or Redis. Times are epoch ms. */
export interface KillEvent {
  /** Worker slot index (its own fake server), or "redis". */
  target: number | 'redis';
  /** When SIGKILL was sent. */
  at: number;
  /** When the process was seen gone. */
  exitAt: number;
}

/** Successful attempt rows orchex recorded with one usage (model name + token counts), and how many. */
export interface RecordedUsage {
  model: string;
  inputTokens: number;
  outputTokens: number;
  count: number;
}

/** Provider calls and answers, as the fake servers saw them, matched against the attempts orchex recorded. */
export interface CallAccount {
  /** Every model request received (the fake servers' request logs). */
  calls: number;
  /** Calls by how they ended (ok, aborted, pending, …). */
  byOutcome: Record<string, number>;
  /**
   * Calls a kill took the outcome of (see accountCalls): in flight at a kill, or answered just before a worker's
   * kill and not recorded. Counted once even if two kills overlap.
   */
  inFlightAtKills: number;
  /** Calls in flight at each kill's moment, in kill order (overlaps counted in each). */
  perKill: Array<{ target: number | 'redis'; at: number; calls: number }>;
  /** Answers delivered (HTTP 200 sent) and the sum of their costs: what the provider bills. */
  billedAnswers: number;
  billedMicros: number;
  /** Billed answers that reached a live orchex process (see accountCalls), and their cost. */
  usedAnswers: number;
  usedMicros: number;
  /** Used answers with no successful attempt row: paid for, never recorded. */
  lostAnswers: number;
  lostMicros: number;
  /** When the lost answers were delivered (epoch ms, sorted; for a group of equal answers, its latest ones). */
  lostDeliveredAt: number[];
  /** Answers handed to a worker just before its kill -9 and not recorded: they died with it. */
  diedAnswers: number;
  /** Successful attempt rows that match no billed answer (a cost recorded twice, or invented). */
  phantomAttempts: number;
}

/**
 * Accounts the calls of a drill. `logs[slot]` is the request log of the fake server that only worker slot `slot`
 * talks to, so every call is attributed to one worker slot (all incarnations of it).
 *
 * Calls in flight at a kill — the allowance the issue grants for calls made twice:
 * - worker kill: calls of that slot in flight when SIGKILL was sent (cut off, so the task rightly runs again),
 *   plus answers handed to it in its last `graceMs` that it did not record (a dying process may never have read
 *   them; which ones died is known from the match below, so a generous grace costs no precision).
 * - Redis kill: calls of every slot in flight at the SIGKILL. With `appendfsync everysec` the last second of
 *   writes can be lost, e.g. a job's move to active: after the restart it runs again while its first call is
 *   still out.
 *
 * Answers are matched to attempt rows by usage (model, input and output tokens): the drill scripts the fake so
 * that every answer reports a different output token count, which makes the match exact (answers with equal
 * usage, e.g. after the script ran out, are matched as a multiset). An answer is *used* unless it was handed to a
 * worker in its last `graceMs` before a kill -9 and is not recorded; Redis dying takes no answer with it.
 *
 * `priceOf` gives one answer's cost: orchex's own formula on the usage the fake reported, so equal to what a
 * worker records for that answer.
 */
export function accountCalls(
  logs: ReadonlyArray<readonly FakeLogEntry[]>,
  kills: readonly KillEvent[],
  graceMs: number,
  priceOf: (entry: FakeLogEntry) => number,
  modelName: (entry: FakeLogEntry) => string,
  recorded: readonly RecordedUsage[],
): CallAccount {
  const byOutcome: Record<string, number> = {};
  let calls = 0;
  const answers: FakeLogEntry[] = [];
  for (const log of logs) {
    for (const e of log) {
      calls++;
      byOutcome[e.outcome] = (byOutcome[e.outcome] ?? 0) + 1;
      if (e.outcome === 'ok') answers.push(e);
    }
  }

  const atRisk = new Set<FakeLogEntry>();
  const mayDie = new Set<FakeLogEntry>();
  const perKill = kills.map((k) => {
    let n = 0;
    const slots = k.target === 'redis' ? logs.map((_, i) => i) : [k.target];
    for (const slot of slots) {
      for (const e of logs[slot] ?? []) {
        if (e.startedAt > k.exitAt) continue;
        if (e.finishedAt === null || e.finishedAt >= k.at) {
          n++;
          atRisk.add(e);
        }
        if (k.target === 'redis' || e.outcome !== 'ok' || e.finishedAt === null) continue;
        if (e.finishedAt >= k.at - graceMs && e.finishedAt <= k.exitAt) mayDie.add(e);
      }
    }
    return { target: k.target, at: k.at, calls: n };
  });

  // Group answers and attempt rows by usage, then match within each group.
  const key = (model: string, input: number, output: number) => `${model}|${input}|${output}`;
  const groups = new Map<string, { answers: FakeLogEntry[]; recorded: number }>();
  for (const a of answers) {
    const k = key(modelName(a), a.inputTokens ?? 0, a.outputTokens ?? 0);
    const g = groups.get(k) ?? { answers: [], recorded: 0 };
    g.answers.push(a);
    groups.set(k, g);
  }
  let phantomAttempts = 0;
  for (const r of recorded) {
    const g = groups.get(key(r.model, r.inputTokens, r.outputTokens));
    if (g) g.recorded += r.count;
    else phantomAttempts += r.count;
  }

  const account = {
    billedAnswers: 0,
    billedMicros: 0,
    usedAnswers: 0,
    usedMicros: 0,
    lostAnswers: 0,
    lostMicros: 0,
    lostDeliveredAt: [] as number[],
    diedAnswers: 0,
  };
  for (const g of groups.values()) {
    const price = priceOf(g.answers[0] as FakeLogEntry);
    const excusable = g.answers.filter((a) => mayDie.has(a)).length;
    const mustRecord = g.answers.length - excusable;
    // Recorded rows cover the answers that had to be recorded first; any beyond that were excusable ones that
    // the dying worker still managed to write.
    const usedExcusable = Math.min(excusable, Math.max(0, g.recorded - mustRecord));
    const lost = Math.max(0, mustRecord - g.recorded);
    phantomAttempts += Math.max(0, g.recorded - g.answers.length);
    account.billedAnswers += g.answers.length;
    account.billedMicros += g.answers.length * price;
    account.usedAnswers += mustRecord + usedExcusable;
    account.usedMicros += (mustRecord + usedExcusable) * price;
    account.lostAnswers += lost;
    account.lostMicros += lost * price;
    const mustRecordTimes = g.answers.filter((a) => !mayDie.has(a)).map((a) => a.finishedAt ?? 0);
    account.lostDeliveredAt.push(...mustRecordTimes.sort((a, b) => a - b).slice(mustRecordTimes.length - lost));
    account.diedAnswers += excusable - usedExcusable;
    // A died answer's task runs again: its call joins the allowance (which of equal answers died is immaterial).
    for (const a of g.answers.filter((x) => mayDie.has(x)).slice(0, excusable - usedExcusable)) atRisk.add(a);
  }
  account.lostDeliveredAt.sort((a, b) => a - b);
  return { calls, byOutcome, inFlightAtKills: atRisk.size, perKill, ...account, phantomAttempts };
}
