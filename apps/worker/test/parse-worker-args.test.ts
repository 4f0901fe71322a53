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
  it('--concurrency up to 5,000: slow calls are cheap to hold, so one process may hold thousands', () => {
    expect(parseWorkerArgs(['--concurrency', '1001']).concurrency).toBe(1001);
    expect(parseWorkerArgs(['--concurrency', '5000']).concurrency).toBe(5000);
    expect(() => parseWorkerArgs(['--concurrency', '5001'])).toThrow(/--concurrency: .*1 to 5000, got "5001"/);
  });
  it('--metrics-port: where GET /healthz listens', () => {
    expect(parseWorkerArgs(['--metrics-port', '9464']).metricsPort).toBe(9464);
  });
  it.each([
    [['--metrics-port', 'http'], /--metrics-port/],
    [['--metrics-port', '70000'], /--metrics-port/],
    [['--concurrency', '0'], /--concurrency/],
    [['--concurrency', 'many'], /--concurrency/],
    [['--concurrency', '2.5'], /--concurrency/],
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
