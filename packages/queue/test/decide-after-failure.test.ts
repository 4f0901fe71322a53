import type { ErrorKind } from '@orchex/core';
import { describe, expect, it } from 'vitest';
import { decideAfterFailure, type FailureContext, retryDelayMs } from '../src/index.ts';

// Written out by hand (not taken from isRetryableKind) so the table checks the classification too.
const RETRYABLE: ErrorKind[] = ['rate_limited', 'overloaded', 'server', 'timeout', 'connection', 'malformed_response'];
const FINAL: ErrorKind[] = ['bad_request', 'auth', 'context_length', 'content_filter'];

/** A plan of three models with growing windows; the task needs 10,000 tokens, which every window holds. */
const base: FailureContext = {
  tries: 1,
  maxRetries: 3,
  enableFallback: true,
  windows: [16_000, 128_000, 200_000],
  step: 0,
  neededTokens: 10_000,
  backoffBaseMs: 1000,
  random: () => 0.5,
};

describe('decideAfterFailure: every error kind × retries left × plan position × enable_fallback', () => {
  const rows: Array<[ErrorKind, 'retries left' | 'no retries left', 'first of 3' | 'last of 3', boolean, string]> = [];
  for (const kind of [...RETRYABLE, ...FINAL]) {
    for (const retries of ['retries left', 'no retries left'] as const) {
      for (const position of ['first of 3', 'last of 3'] as const) {
        for (const fallback of [true, false]) {
          let expected: string;
          if (RETRYABLE.includes(kind) && retries === 'retries left') expected = 'retry';
          else if (fallback && position === 'first of 3') expected = 'reroute to 1';
          else expected = 'fail';
          rows.push([kind, retries, position, fallback, expected]);
        }
      }
    }
  }

  it.each(rows)('%s, %s, %s step, enable_fallback=%s → %s', (kind, retries, position, enableFallback, expected) => {
    const d = decideAfterFailure(
      { kind },
      {
        ...base,
        enableFallback,
        tries: retries === 'retries left' ? 2 : base.maxRetries + 1,
        step: position === 'first of 3' ? 0 : 2,
      },
    );
    const got = d.action === 'reroute' ? `reroute to ${d.nextStep}` : d.action;
    expect(got).toBe(expected);
    if (d.action === 'retry') expect(d.pauseQueue).toBe(kind === 'rate_limited');
  });

  it('the last retry is still a retry; one more failure moves on', () => {
    expect(decideAfterFailure({ kind: 'server' }, { ...base, tries: 3 }).action).toBe('retry');
    expect(decideAfterFailure({ kind: 'server' }, { ...base, tries: 4 })).toEqual({ action: 'reroute', nextStep: 1 });
    expect(decideAfterFailure({ kind: 'server' }, { ...base, maxRetries: 0, tries: 1 }).action).toBe('reroute');
  });

  it('re-routing skips models that are no longer configured, and fails when none is left', () => {
    const windows = [16_000, undefined, 200_000];
    expect(decideAfterFailure({ kind: 'auth' }, { ...base, windows })).toEqual({ action: 'reroute', nextStep: 2 });
    expect(decideAfterFailure({ kind: 'auth' }, { ...base, windows: [16_000, undefined] })).toEqual({ action: 'fail' });
  });

  it('context_length re-routes only to a larger window that holds the input', () => {
    const ctx = { ...base, windows: [16_000, 16_000, 8_000, 128_000], neededTokens: 20_000 };
    // Same window (1), smaller window (2) skipped; 128K holds 20K.
    expect(decideAfterFailure({ kind: 'context_length' }, ctx)).toEqual({ action: 'reroute', nextStep: 3 });
    // A larger window that still cannot hold the input is skipped too.
    expect(decideAfterFailure({ kind: 'context_length' }, { ...ctx, windows: [16_000, 18_000] })).toEqual({
      action: 'fail',
    });
    // Even when the estimate thought it fit, only a larger window helps.
    expect(
      decideAfterFailure({ kind: 'context_length' }, { ...base, windows: [16_000, 16_000], neededTokens: 1_000 }),
    ).toEqual({ action: 'fail' });
    // Other kinds take the next model whatever its window.
    expect(decideAfterFailure({ kind: 'auth' }, { ...ctx, windows: [16_000, 8_000] })).toEqual({
      action: 'reroute',
      nextStep: 1,
    });
  });
});

describe('retry backoff', () => {
  it('doubles per retry with equal jitter (half fixed, half random), capped', () => {
    expect(retryDelayMs(1, 1000, undefined, 60_000, () => 0)).toBe(500);
    expect(retryDelayMs(1, 1000, undefined, 60_000, () => 0.999_999)).toBe(1000);
    expect(retryDelayMs(3, 1000, undefined, 60_000, () => 0.5)).toBe(3000);
    expect(retryDelayMs(20, 1000, undefined, 60_000, () => 1)).toBe(60_000);
  });

  it("is never shorter than the provider's retry hint", () => {
    const d = decideAfterFailure({ kind: 'rate_limited', retryAfterMs: 7_000 }, { ...base, tries: 1 });
    expect(d).toEqual({ action: 'retry', delayMs: 7_000, pauseQueue: true });
    const short = decideAfterFailure({ kind: 'overloaded', retryAfterMs: 10 }, { ...base, tries: 1 });
    expect(short).toEqual({ action: 'retry', delayMs: 750, pauseQueue: false });
  });

  it('caps the retry hint at max_retry_after, so one throttled tenant cannot pause a model for everyone', () => {
    const hour = decideAfterFailure(
      { kind: 'rate_limited', retryAfterMs: 3_600_000 },
      { ...base, maxRetryAfterMs: 60_000 },
    );
    expect(hour).toEqual({ action: 'retry', delayMs: 60_000, pauseQueue: true });
    const byDefault = decideAfterFailure({ kind: 'rate_limited', retryAfterMs: 3_600_000 }, base);
    expect(byDefault).toEqual({ action: 'retry', delayMs: 60_000, pauseQueue: true });
  });
});
