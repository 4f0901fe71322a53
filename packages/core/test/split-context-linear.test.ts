import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimateTokens, splitContext } from '../src/index.ts';

/** The regular-expression version splitContext replaced (quadratic on whitespace): the behaviour to keep. */
function regexSplitContext(text: string, chunkTokens: number, overlapTokens = 0): string[] {
  const maxChars = chunkTokens * 4;
  const overlapChars = Math.min(overlapTokens * 4, Math.floor(maxChars / 4));
  const pieces: string[] = [];
  const limit = maxChars - overlapChars;
  for (const para of text.split(/(?<=\n\s*\n)/)) {
    if (para.length <= limit) {
      pieces.push(para);
      continue;
    }
    for (const s of para.split(/(?<=[.!?])\s+(?=\S)/).map((s, i, all) => (i < all.length - 1 ? `${s} ` : s))) {
      if (s.length <= limit) {
        pieces.push(s);
        continue;
      }
      for (const w of s.split(/(?<=\s)/)) for (let i = 0; i < w.length; i += limit) pieces.push(w.slice(i, i + limit));
    }
  }
  const tail = (t0: string, n: number) => {
    if (n <= 0) return '';
    const t = t0.slice(-n);
    const sentence = t.search(/(?<=[.!?]\s)\S/);
    if (sentence > 0) return t.slice(sentence);
    const word = t.search(/(?<=\s)\S/);
    return word > 0 ? t.slice(word) : t;
  };
  const chunks: string[] = [];
  let current = '';
  for (const piece of pieces) {
    if (current && estimateTokens(current + piece) > chunkTokens - (chunks.length ? overlapTokens : 0)) {
      chunks.push(current);
      current = tail(current, overlapChars);
    }
    current += piece;
  }
  if (current.trim()) chunks.push(current);
  return chunks;
}

// Characters that decide the cuts: every kind of whitespace, sentence ends, letters, CJK, a surrogate pair.
const alphabet = fc.constantFrom(
  'a',
  'b',
  ' ',
  ' ',
  '\n',
  '\n',
  '\t',
  '\r',
  '\u00a0',
  '\u3000',
  '\u2028',
  '.',
  '!',
  '?',
  '字',
  '😀',
  'word ',
  'Sentence. ',
  '\n\n',
  ' \n \n',
);

describe('splitContext (linear scan)', () => {
  it('cuts exactly where the regular-expression version did, on any text', () => {
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 400 }).map((a) => a.join('')),
        fc.integer({ min: 1, max: 80 }),
        fc.integer({ min: 0, max: 30 }),
        (text, chunkTokens, overlapTokens) => {
          expect(splitContext(text, chunkTokens, overlapTokens)).toEqual(
            regexSplitContext(text, chunkTokens, overlapTokens),
          );
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('agrees on a long document with every kind of cut', () => {
    const doc = Array.from({ length: 300 }, (_, i) =>
      i % 7 === 0 ? `${'x'.repeat(900)} ` : `Para ${i}. It has sentences!  Really?\t Yes.\n \n`,
    ).join('');
    expect(splitContext(doc, 200, 40)).toEqual(regexSplitContext(doc, 200, 40));
  });

  it('a megabyte of whitespace takes milliseconds, not minutes (the old lookbehind was quadratic)', () => {
    // Generous bound for a loaded machine; the regular-expression version took ~5 s for 1 MB and grew with its square.
    for (const ws of [' ', '\n', ' \n\t ']) {
      const text = ws.repeat(Math.ceil(1_000_000 / ws.length));
      const started = performance.now();
      const chunks = splitContext(text, 1000, 100);
      expect(performance.now() - started).toBeLessThan(1500);
      expect(chunks.length).toBeGreaterThan(100);
      for (const c of chunks) expect(estimateTokens(c)).toBeLessThanOrEqual(1000);
    }
  });
});
