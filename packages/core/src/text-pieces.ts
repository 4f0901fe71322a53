/**
 * Longest piece of text the API handles at once on its event loop. In this VM a fresh 10 MB string (a flattened rope, a
 * UTF-8 encoding for node-postgres) cost 45–100 ms of CPU, mostly first-touch page faults; 512K characters cost a few
 * milliseconds (up to ~20 ms of CJK under load).
 */
export const TEXT_PIECE_CHARS = 512 * 1024;

/** The task texts that can be long enough to travel and be written in pieces. */
export type LongTextField = 'prompt' | 'context' | 'system';

/** Long task texts in pieces, in order: joined, each is the field's text. */
export type TextPieces = Partial<Record<LongTextField, string[]>>;

/** `text` in pieces of at most TEXT_PIECE_CHARS, never splitting a surrogate pair (a half alone cannot be encoded). */
export function textPieces(text: string): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; ) {
    let end = Math.min(i + TEXT_PIECE_CHARS, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    pieces.push(text.slice(i, end));
    i = end;
  }
  return pieces;
}
