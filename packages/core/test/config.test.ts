import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_CONFIG_SOURCE, loadConfig, loadConfigFile, parseConfig } from '../src/index.ts';

const clone = () => structuredClone(DEFAULT_CONFIG_SOURCE) as unknown as Record<string, any>;

describe('config', () => {
  it('loads the built-in default with the seed routing table and Gemini models', () => {
    const cfg = loadConfig(undefined);
    expect(cfg.routing_rules.code?.primary).toMatch(/^claude-sonnet/);
    expect(cfg.routing_rules.analysis?.primary).toMatch(/^claude-sonnet/);
    expect(cfg.routing_rules.research?.primary).toMatch(/^gpt-/);
    expect(cfg.routing_rules.creative?.primary).toMatch(/^gpt-/);
    expect(Object.values(cfg.models).some((m) => m.provider === 'google')).toBe(true);
    for (const rule of Object.values(cfg.routing_rules)) expect(rule?.fallback.length).toBeGreaterThanOrEqual(1);
  });

  it('reads a YAML file from ORCHEX_CONFIG', () => {
    const dir = mkdtempSync(join(tmpdir(), 'orchex-cfg-'));
    const path = join(dir, 'atlas_config.yaml');
    writeFileSync(
      path,
      `orchestrator:\n  default_model: m1\nmodels:\n  m1:\n    provider: openai\n    model_id: gpt-x\n    input_cost_per_1k: 0.001\n    output_cost_per_1k: 0.002\n    max_tokens: 16000\n`,
    );
    const cfg = loadConfig(path);
    expect(cfg.orchestrator).toMatchObject({ default_model: 'm1', enable_fallback: true, max_retries: 3, timeout: 60 });
    expect(cfg.models.m1?.rpm).toBe(60);
  });

  const broken: Array<[string, (c: Record<string, any>) => void, RegExp]> = [
    [
      'unknown primary',
      (c) => (c.routing_rules.code.primary = 'gpt-9'),
      /routing_rules\.code\.primary: unknown model "gpt-9"/,
    ],
    [
      'unknown fallback',
      (c) => (c.routing_rules.simple.fallback = ['nope']),
      /routing_rules\.simple\.fallback\.0: unknown model "nope"/,
    ],
    ['bad provider', (c) => (c.models['gpt-5.5'].provider = 'azure'), /models\.gpt-5\.5\.provider:/],
    ['negative price', (c) => (c.models['gpt-5.5'].input_cost_per_1k = -1), /models\.gpt-5\.5\.input_cost_per_1k:/],
    [
      'a task type that is not a word',
      (c) => (c.routing_rules['Poetry Night!'] = { primary: 'gpt-5.5' }),
      /routing_rules\.Poetry Night!: task types use lower-case letters/,
    ],
    [
      'a model whose provider cannot be told from its name',
      (c) => (c.models.mystery = { max_tokens: 1000, input_cost_per_1k: 0, output_cost_per_1k: 0 }),
      /models\.mystery\.provider: cannot tell the provider of "mystery"/,
    ],
    ['typo key', (c) => (c.orchestrator.max_retry = 2), /orchestrator: .*max_retry/],
    [
      'unknown default model',
      (c) => (c.orchestrator.default_model = 'x'),
      /orchestrator\.default_model: unknown model "x"/,
    ],
  ];
  it.each(broken)('%s fails naming the key', (_name, mutate, pattern) => {
    const c = clone();
    mutate(c);
    expect(() => parseConfig(c)).toThrow(ConfigError);
    expect(() => parseConfig(c)).toThrow(pattern);
  });

  it('rejects a file that is not YAML and a wrong extension', () => {
    const dir = mkdtempSync(join(tmpdir(), 'orchex-cfg-'));
    const bad = join(dir, 'c.yaml');
    writeFileSync(bad, 'orchestrator: [unclosed');
    expect(() => loadConfigFile(bad)).toThrow(/not valid YAML/);
    expect(() => loadConfigFile(join(dir, 'c.toml'))).toThrow(/ORCHEX_CONFIG: .*\.yaml, \.yml or \.json/);
  });
});

describe('config/orchex.example.yaml', () => {
  it('loads and equals the built-in default', () => {
    const path = new URL('../../../config/orchex.example.yaml', import.meta.url).pathname;
    expect(loadConfigFile(path)).toEqual(loadConfig(undefined));
  });
});
