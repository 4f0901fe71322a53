import { countTokens as o200k } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { estimateInputTokens, preloadTokenizers } from '../src/index.ts';

const asText = { disallowedSpecial: new Set<string>() };
const gpt = { provider: 'openai', model_id: 'gpt-5' } as const;
preloadTokenizers([gpt]);

// Distinct characters per run, so gpt-tokenizer's cache of pre-tokens cannot hide the cost being measured.
const run = (from: number, to: number, n: number, seed: number) => {
  let s = '';
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    s += String.fromCodePoint(from + (x % (to - from)));
  }
  return s;
};

describe('estimateInputTokens on text without spaces', () => {
  const scripts = {
    cjk: run(0x4e00, 0x9fff, 3000, 1),
    cyrillic: run(0x430, 0x44f, 3000, 2),
    emoji: run(0x1f600, 0x1f64f, 1500, 3),
    letters: run(0x61, 0x7a, 3000, 4),
    prose: 'Tokenizers split text into pieces; prose and code such as `const x = f(y);` differ. '.repeat(40),
  };

  it.each(Object.entries(scripts))('%s: within 1% of the whole-text count, never under it by more', (_n, text) => {
    const exact = o200k(text, asText) + 6;
    const estimate = estimateInputTokens({ prompt: text }, gpt);
    expect(estimate / exact).toBeGreaterThanOrEqual(0.99);
    expect(estimate / exact).toBeLessThanOrEqual(1.01);
  });

  it('100,000 characters of one script take linear time (whole pre-tokens took seconds)', () => {
    // Whole, 10,000 CJK characters took ~0.4 s and 100,000 spaces 5 s (quadratic); windowed, 100,000 take ~0.1–0.3 s.
    for (const text of [run(0x4e00, 0x9fff, 100_000, 5), ' '.repeat(100_000), run(0x1f600, 0x1f64f, 50_000, 6)]) {
      const started = performance.now();
      estimateInputTokens({ prompt: 'p', context: text }, gpt);
      expect(performance.now() - started).toBeLessThan(3000);
    }
  });
});
