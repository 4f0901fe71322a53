/**
 * Splits a long text into chunks of at most `chunkTokens` (estimated) tokens, cutting at paragraph breaks where
 * possible, else at sentence ends, else at whitespace — never inside a word unless one "word" is larger than a chunk.
 * Each chunk after the first starts with the last ~`overlapTokens` of the previous one (whole sentences where
 * possible), so a fact that straddles a cut is seen whole by at least one part. Linear in the text's length.
 */
export function splitContext(text: string, chunkTokens: number, overlapTokens = 0): string[] {
  const maxChars = chunkTokens * CHARS_PER_TOKEN;
  const overlapChars = Math.min(overlapTokens * CHARS_PER_TOKEN, Math.floor(maxChars / 4));
  const chunks: string[] = [];
  let current = new ChunkBuilder(text, '');
  forEachAtom(text, maxChars - overlapChars, (start, end, space) => {
    const length = end - start + (space ? 1 : 0);
    // estimateTokens(current + piece) > budget, counted in characters: the same test without building the string.
    const budget = (chunkTokens - (chunks.length ? overlapTokens : 0)) * CHARS_PER_TOKEN;
    if (current.length > 0 && current.length + length > budget) {
      const chunk = current.build();
      chunks.push(chunk);
      current = new ChunkBuilder(text, tail(chunk, overlapChars));
    }
    current.add(start, end, space);
  });
  const last = current.build();
  if (last.trim()) chunks.push(last);
  return chunks;
}

/** The ratio estimateTokens uses (characters per token, rounded up); chunk budgets are kept in characters. */
const CHARS_PER_TOKEN = 4;

/**
 * A chunk being assembled from pieces of the text. Neighbouring pieces are contiguous in the text, so they are kept
 * as one range and copied once, instead of concatenating (possibly millions of) one-character pieces.
 */
class ChunkBuilder {
  private built: string;
  private from = -1;
  private to = -1;
  length: number;

  constructor(
    private readonly text: string,
    start: string,
  ) {
    this.built = start;
    this.length = start.length;
  }

  /** Appends text[start, end), then one space when `space`. */
  add(start: number, end: number, space: boolean): void {
    if (this.from >= 0 && start === this.to) this.to = end;
    else {
      this.flush();
      this.from = start;
      this.to = end;
    }
    if (space) {
      this.flush();
      this.built += ' ';
    }
    this.length += end - start + (space ? 1 : 0);
  }

  build(): string {
    this.flush();
    return this.built;
  }

  private flush(): void {
    if (this.from >= 0) this.built += this.text.slice(this.from, this.to);
    this.from = -1;
  }
}

// The cuts below are hand-written scans, not regular expressions: a lookbehind such as /(?<=\n\s*\n)/ rescans the
// whitespace before every position, which is quadratic on a run of whitespace (a 1 MB body of spaces took minutes).

/** JavaScript's `\s` (WhiteSpace and LineTerminator), so the cuts fall where the earlier regular expressions did. */
function isSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

const NEWLINE = 0x0a;
const isSentenceEnd = (c: number) => c === 0x2e || c === 0x21 || c === 0x3f; // . ! ?

/** One piece: text[start, end), followed by one space when `space` (a sentence's whitespace collapsed to one). */
type Emit = (start: number, end: number, space: boolean) => void;

/**
 * The text as paragraph-, sentence- or word-sized pieces no longer than maxChars, in order. Paragraphs end after a
 * "\n" whose run of whitespace holds an earlier "\n"; sentences at a whitespace run after ". ", "! " or "? " that
 * precedes more text (the run becomes one space); words after every whitespace character.
 */
function forEachAtom(text: string, maxChars: number, emit: Emit): void {
  let start = 0;
  let newlinesInRun = 0;
  for (let i = 0; i < text.length - 1; i++) {
    const c = text.charCodeAt(i);
    if (!isSpace(c)) newlinesInRun = 0;
    else if (c === NEWLINE && ++newlinesInRun >= 2) {
      paragraph(text, start, i + 1, maxChars, emit);
      start = i + 1;
    }
  }
  paragraph(text, start, text.length, maxChars, emit);
}

function paragraph(text: string, from: number, to: number, maxChars: number, emit: Emit): void {
  if (to - from <= maxChars) {
    emit(from, to, false);
    return;
  }
  let start = from;
  let i = from + 1;
  while (i < to) {
    if (!isSentenceEnd(text.charCodeAt(i - 1)) || !isSpace(text.charCodeAt(i))) {
      i++;
      continue;
    }
    let end = i;
    while (end < to && isSpace(text.charCodeAt(end))) end++;
    if (end === to) break; // trailing whitespace stays with the last sentence
    sentence(text, start, i, true, maxChars, emit);
    start = end;
    i = end + 1;
  }
  sentence(text, start, to, false, maxChars, emit);
}

function sentence(text: string, from: number, to: number, space: boolean, maxChars: number, emit: Emit): void {
  if (to - from + (space ? 1 : 0) <= maxChars) {
    emit(from, to, space);
    return;
  }
  let start = from;
  for (let i = from + 1; i < to; i++) {
    if (isSpace(text.charCodeAt(i - 1))) {
      word(start, i, false, maxChars, emit);
      start = i;
    }
  }
  word(start, to, space, maxChars, emit);
}

/** A word (with its trailing space, if any) in slices of maxChars; only a word longer than a chunk is cut. */
function word(from: number, to: number, space: boolean, maxChars: number, emit: Emit): void {
  const length = to - from + (space ? 1 : 0);
  for (let i = 0; i < length; i += maxChars) {
    const end = Math.min(from + i + maxChars, to);
    emit(Math.min(from + i, to), end, space && from + i + maxChars > to);
  }
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
