/**
 * Consecutive [start, end) ranges of `items` holding at most `maxCount` items and — unless one item alone is larger
 * — at most `maxChars` characters of text (as `charsOf` counts them). Large inserts are cut this way so that building
 * one statement's parameter (JSON.stringify, UTF-8 encoding) stays a few milliseconds of the caller's event loop.
 */
export function* sizedSlices<T>(
  items: readonly T[],
  maxCount: number,
  maxChars: number,
  charsOf: (item: T) => number,
): Generator<[number, number]> {
  let start = 0;
  while (start < items.length) {
    let end = start;
    let chars = 0;
    while (end < items.length && end - start < maxCount) {
      const next = charsOf(items[end] as T);
      if (end > start && chars + next > maxChars) break;
      chars += next;
      end++;
    }
    yield [start, end];
    start = end;
  }
}
