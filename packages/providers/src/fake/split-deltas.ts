/**
 * How the fake streams a text: one delta per word, each word with the whitespace after it, so any answer of two or
 * more words arrives in two or more deltas and the deltas concatenate back to the text exactly.
 */
export function splitDeltas(text: string): string[] {
  return text.split(/(?<=\s)(?=\S)/).filter((delta) => delta !== '');
}
