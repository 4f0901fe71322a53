import { describe, expect, it } from 'vitest';
import { parseWorkerArgs } from '../src/parse-worker-args.ts';

describe('worker flags', () => {
  it('defaults: every queue, concurrency 8, grace 30 s, no metrics listener', () => {
    expect(parseWorkerArgs([])).toEqual({
      queues: undefined,
      concurrency: 8,
      graceSeconds: 30,
      metricsPort: undefined,
      metricsHost: '0.0.0.0',
    });
  });
  it('--metrics-port and --metrics-host', () => {
    expect(parseWorkerArgs(['--metrics-port', '9464', '--metrics-host', '127.0.0.1'])).toMatchObject({
      metricsPort: 9464,
      metricsHost: '127.0.0.1',
    });
    expect(parseWorkerArgs(['--metrics-port', '0']).metricsPort).toBe(0);
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
    [['--metrics-port', '70000'], /--metrics-port/],
    [['--metrics-port', 'x'], /--metrics-port/],
    [['--metrics-port', '-1'], /metrics-port/],
  ])('%j fails naming the flag', (args, pattern) => {
    expect(() => parseWorkerArgs(args)).toThrow(pattern);
  });
});
