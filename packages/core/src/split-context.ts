import { estimateTokens } from './estimate-tokens.ts';

/**
 * Splits a long text into chunks of at most `chunkTokens` (estimated) tokens, cutting at paragraph breaks where
 * possible, else at sentence ends, else at whitespace — never inside a word unless one "word" is larger than a chunk.
 * Each chunk after the first starts with the last ~`overlapTokens` of the previous one (whole sentences where
 * possible), so a fact that straddles a cut is seen whole by at least one part.
 */
export function splitContext(text: string, chunkTokens: number, overlapTokens = 0): string[] {
  const maxChars = chunkTokens * 4;
  const overlapChars = Math.min(overlapTokens * 4, Math.floor(maxChars / 4));
  const pieces = atoms(text, maxChars - overlapChars);
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

/** The text cut into paragraph-, sentence- or word-sized pieces no longer than maxChars; joined they are the text. */
function atoms(text: string, maxChars: number): string[] {
  const out: string[] = [];
  for (const para of text.split(/(?<=\n\s*\n)/)) {
    if (para.length <= maxChars) {
      out.push(para);
      continue;
    }
    for (const sentence of para.split(/(?<=[.!?])\s+(?=\S)/).map((s, i, all) => (i < all.length - 1 ? `${s} ` : s))) {
      if (sentence.length <= maxChars) {
        out.push(sentence);
        continue;
      }
      for (const word of sentence.split(/(?<=\s)/)) {
        for (let i = 0; i < word.length; i += maxChars) out.push(word.slice(i, i + maxChars));
      }
    }
  }
  return out;
}

/** The last ~n characters, starting at a sentence or word boundary when there is one. */
function tail(text: string, n: number): string {
  if (n <= 0) return '';
  const t = text.slice(-n);
  const sentence = t.search(/(?<=[.!?]\s)\S/);
  if (sentence > 0) return t.slice(sentence);
  const word = t.search(/(?<=\s)\S/);
  return word > 0 ? t.slice(word) : t;
}
