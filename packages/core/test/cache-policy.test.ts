import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_CONFIG_SOURCE, parseConfig, planTask, taskInputSchema } from '../src/index.ts';

/** The config as plain data, as far as these tests change it. */
type ConfigSource = { routing_rules: Record<string, Record<string, unknown>>; cache?: unknown };

const source = structuredClone(DEFAULT_CONFIG_SOURCE) as unknown as ConfigSource;
(source.routing_rules.code as Record<string, unknown>).cache = true;
(source.routing_rules.research as Record<string, unknown>).cache = 120;
source.cache = { ttl: 900 };
const config = parseConfig(source);

/** The cache TTL the planner decides for a task body (undefined = not cached). */
const ttlOf = (body: Record<string, unknown>) => {
  const planned = planTask(taskInputSchema.parse(body), config);
  if ('refused' in planned) throw new Error(planned.refused.message);
  return planned.cacheTtlSec;
};

describe('result cache policy (planner)', () => {
  it.each([
    ['no setting, rule without cache', { prompt: 'p', task_type: 'creative' }, undefined],
    ['rule cache: true → cache.ttl', { prompt: 'p', task_type: 'code' }, 900],
    ['rule cache: seconds', { prompt: 'p', task_type: 'research' }, 120],
    ['rule cache at temperature 0', { prompt: 'p', task_type: 'code', temperature: 0 }, 900],
    ['rule cache not for temperature > 0', { prompt: 'p', task_type: 'code', temperature: 0.7 }, undefined],
    ['task cache: true at temperature > 0', { prompt: 'p', task_type: 'code', temperature: 0.7, cache: true }, 900],
    ['task cache: seconds beats the rule', { prompt: 'p', task_type: 'code', cache: 30 }, 30],
    ['task cache: false refuses the rule', { prompt: 'p', task_type: 'code', cache: false }, undefined],
    ['explicit chain: only the task decides', { prompt: 'p', fallback_chain: ['claude-sonnet'] }, undefined],
    ['explicit chain with cache', { prompt: 'p', fallback_chain: ['claude-sonnet'], cache: true }, 900],
  ])('%s', (_name, body, ttl) => {
    expect(ttlOf(body)).toBe(ttl);
  });

  it('defaults: ttl 3600 s, 1 MiB entries, 10000 entries, one cache per key', () => {
    expect(parseConfig(DEFAULT_CONFIG_SOURCE).cache).toEqual({
      ttl: 3600,
      max_entry_bytes: 1024 * 1024,
      max_entries: 10_000,
      max_bytes: 100 * 1024 * 1024,
      shared: false,
    });
  });

  it.each([
    [
      'a rule',
      (c: ConfigSource) => ((c.routing_rules.code as Record<string, unknown>).cache = 0),
      /routing_rules\.code\.cache/,
    ],
    ['the ttl', (c: ConfigSource) => (c.cache = { ttl: 1.5 }), /cache\.ttl/],
    [
      'an entry cap over the total cap',
      (c: ConfigSource) => (c.cache = { max_entry_bytes: 4096, max_bytes: 2048 }),
      /cache\.max_entry_bytes: must not exceed max_bytes/,
    ],
    ['an unknown key', (c: ConfigSource) => (c.cache = { size: 3 }), /cache: .*size/],
  ])('a bad cache setting in %s fails naming the key', (_name, mutate, pattern) => {
    const c = structuredClone(DEFAULT_CONFIG_SOURCE) as unknown as ConfigSource;
    mutate(c);
    expect(() => parseConfig(c)).toThrow(ConfigError);
    expect(() => parseConfig(c)).toThrow(pattern);
  });
});
