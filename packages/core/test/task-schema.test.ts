import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_SOURCE, findModel, parseConfig, planTask, taskInputSchema, zodIssues } from '../src/index.ts';

const config = parseConfig(DEFAULT_CONFIG_SOURCE);
const fieldsOf = (body: unknown) => {
  const r = taskInputSchema.safeParse(body);
  return r.success ? [] : zodIssues(r.error).map((i) => i.field);
};

describe('taskInputSchema: text that cannot be stored or sent', () => {
  const nul = 'before\u0000after';
  const lone = 'before\ud800after';
  it.each([
    ['prompt', { prompt: nul }, 'prompt'],
    ['context', { prompt: 'p', context: nul }, 'context'],
    ['system', { prompt: 'p', system: lone }, 'system'],
    ['idempotency_key', { prompt: 'p', idempotency_key: nul }, 'idempotency_key'],
    ['a fallback_chain name', { prompt: 'p', fallback_chain: ['claude-sonnet', lone] }, 'fallback_chain.1'],
    ['a metadata value', { prompt: 'p', metadata: { a: nul } }, 'metadata.a'],
    ['a nested metadata value', { prompt: 'p', metadata: { a: [1, { b: lone }] } }, 'metadata.a.1.b'],
    ['a metadata key', { prompt: 'p', metadata: { ok: { [`k${nul}`]: 1 } } }, 'metadata.ok'],
    ['a lone low surrogate', { prompt: 'p\udc00' }, 'prompt'],
    ['a reversed pair', { prompt: '\udc00\ud800' }, 'prompt'],
  ])('%s → an issue naming the field, never echoing the text', (_name, body, field) => {
    const r = taskInputSchema.safeParse(body);
    expect(r.success).toBe(false);
    const issues = r.success ? [] : zodIssues(r.error);
    expect(issues.map((i) => i.field)).toContain(field);
    for (const i of issues) expect(i.message).not.toMatch(/before|after/);
  });

  it('accepts well-formed text: pairs, CJK, emoji, other control characters', () => {
    const r = taskInputSchema.safeParse({ prompt: '漢字 😀 \u0001 \t', metadata: { '😀': ['é', { x: '\u2028' }] } });
    expect(r.success).toBe(true);
  });

  it('metadata with a "__proto__" key is refused at any depth (it would be silently dropped)', () => {
    expect(fieldsOf(JSON.parse('{"prompt":"p","metadata":{"__proto__":{"a":1}}}'))).toContain('metadata');
    expect(fieldsOf(JSON.parse('{"prompt":"p","metadata":{"x":{"__proto__":1}}}'))).toContain('metadata.x');
  });

  it('metadata nested far deeper than the stack is a 400 issue, not a crash', () => {
    const deep = JSON.parse(`{"prompt":"p","metadata":{"a":${'['.repeat(200_000)}${']'.repeat(200_000)}}}`);
    expect(fieldsOf(deep)).toEqual(['metadata']);
  });
});

describe('taskInputSchema: timeout in whole milliseconds', () => {
  it.each([
    [2.01, 2.01],
    [0.0006, 0.001],
    [1.23456, 1.235],
    [3600, 3600],
  ])('%s s → %s s', (given, kept) => {
    const r = taskInputSchema.parse({ prompt: 'p', timeout: given });
    expect(r.timeout).toBe(kept);
    expect(Number.isInteger(Math.round((r.timeout as number) * 1000))).toBe(true);
  });

  it('a timeout that rounds to 0 ms is refused, naming timeout', () => {
    expect(fieldsOf({ prompt: 'p', timeout: 0.0004 })).toEqual(['timeout']);
    expect(fieldsOf({ prompt: 'p', timeout: 0 })).toEqual(['timeout']);
  });
});

describe('model names are looked up as own properties', () => {
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])('"%s" is not a model', (name) => {
    expect(findModel(config, name)).toBeUndefined();
    const planned = planTask(taskInputSchema.parse({ prompt: 'p', fallback_chain: [name] }), config);
    expect(planned).toMatchObject({ refused: { status: 400, field: 'fallback_chain.0' } });
  });

  it('a config naming "constructor" as a model it does not define is refused', () => {
    const source = structuredClone(DEFAULT_CONFIG_SOURCE) as { orchestrator: { default_model: string } };
    source.orchestrator.default_model = 'constructor';
    expect(() => parseConfig(source)).toThrow(/default_model/);
  });
});
