import { describe, expect, it } from 'vitest';
import { parseWorkerArgs } from '../src/parse-worker-args.ts';

describe('worker flags', () => {
  it('defaults: every queue, concurrency 8, grace 30 s', () => {
    expect(parseWorkerArgs([])).toEqual({ queues: undefined, concurrency: 8, graceSeconds: 30 });
  });
  it('--queues and --concurrency', () => {
    expect(parseWorkerArgs(['--queues', 'gpt-5.5, claude-sonnet-5', '--concurrency', '16'])).toMatchObject({
      queues: ['gpt-5.5', 'claude-sonnet-5'],
      concurrency: 16,
    });
  });
  it('--metrics-port: where GET /healthz listens', () => {
    expect(parseWorkerArgs(['--metrics-port', '9464']).metricsPort).toBe(9464);
  });
  it.each([
    [['--metrics-port', 'http'], /--metrics-port/],
    [['--metrics-port', '70000'], /--metrics-port/],
    [['--concurrency', '0'], /--concurrency/],
    [['--concurrency', 'many'], /--concurrency/],
    [['--queues', ' , '], /--queues/],
    [['--grace', '-1'], /--grace/],
    [['--nope'], /nope/],
  ])('%j fails naming the flag', (args, pattern) => {
    expect(() => parseWorkerArgs(args)).toThrow(pattern);
  });
});
