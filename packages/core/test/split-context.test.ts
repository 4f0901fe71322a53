import { describe, expect, it } from 'vitest';
import { estimateTokens, fillTemplate, splitContext } from '../src/index.ts';

const text = Array.from({ length: 60 }, (_, p) =>
  Array.from({ length: 6 }, (_, s) => `Paragraph ${p} sentence ${s} says something worth keeping.`).join(' '),
).join('\n\n');

describe('splitContext', () => {
  it('keeps every chunk within the token budget and loses no sentence', () => {
    const chunks = splitContext(text, 300, 30);
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) expect(estimateTokens(c)).toBeLessThanOrEqual(300);
    for (let p = 0; p < 60; p++)
      for (let s = 0; s < 6; s++) {
        expect(chunks.some((c) => c.includes(`Paragraph ${p} sentence ${s} says`))).toBe(true);
      }
  });

  it('cuts at sentence ends and repeats the end of the previous chunk', () => {
    const chunks = splitContext(text, 300, 30);
    for (const c of chunks.slice(0, -1)) expect(c.trimEnd()).toMatch(/[.!?]$/);
    for (let i = 1; i < chunks.length; i++) {
      const head = chunks[i]!.slice(0, 40);
      expect(chunks[i - 1]).toContain(head);
    }
  });

  it('splits a single huge word rather than exceeding the budget', () => {
    const chunks = splitContext('x'.repeat(10_000), 500, 0);
    expect(chunks.join('')).toBe('x'.repeat(10_000));
    for (const c of chunks) expect(estimateTokens(c)).toBeLessThanOrEqual(500);
  });

  it('fills templates and leaves unknown placeholders', () => {
    expect(fillTemplate('{a} and {b}', { a: 1 })).toBe('1 and {b}');
  });
});
