import type { PlannedTask, SplitPlan } from '@orchex/core';

/** A PlannedTask that survives postMessage: the split's map prompts as strings instead of a function. */
export type PortablePlannedTask = Omit<PlannedTask, 'split'> & {
  split: (Omit<SplitPlan, 'mapPrompt'> & { mapPrompts: string[] }) | undefined;
};

/** For sending a planned task to another thread (structured clone copies data, not functions). */
export function toPortable(p: PlannedTask): PortablePlannedTask {
  if (!p.split) return { ...p, split: undefined };
  const { mapPrompt, ...split } = p.split;
  return { ...p, split: { ...split, mapPrompts: split.chunks.map((_, i) => mapPrompt(i)) } };
}

/** The planned task again, on the receiving thread. */
export function fromPortable(p: PortablePlannedTask): PlannedTask {
  if (!p.split) return { ...p, split: undefined };
  const { mapPrompts, ...split } = p.split;
  return { ...p, split: { ...split, mapPrompt: (i) => mapPrompts[i] as string } };
}

/**
 * Key of the placeholder a detached text leaves behind. It starts with NUL, which no validated key may contain
 * (safeString), so a user's metadata can never be mistaken for a placeholder.
 */
const TEXT_REF = '\u0000text';

/**
 * Replaces every string longer than `maxChars` inside `value` (objects and arrays, copied on the way) with a
 * placeholder holding the number `detach` gives it. Deserialising one 20-million-character message held the receiving
 * event loop for ~120 ms; sent in pieces, as messages of their own, no single event is long.
 */
export function detachLargeTexts<T>(value: T, maxChars: number, detach: (text: string) => number): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return v.length <= maxChars ? v : { [TEXT_REF]: detach(v) };
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}

/** The pieces of a detached text, by its placeholder; undefined for anything else. */
export function piecesOf(value: unknown, texts: readonly string[][]): string[] | undefined {
  const ref = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[TEXT_REF] : undefined;
  return typeof ref === 'number' ? texts[ref] : undefined;
}

/**
 * Puts the texts detachLargeTexts took out back in place, from their pieces (`texts[ref]`), as ropes: joined by `+`,
 * which V8 keeps as a tree of the pieces until a string operation needs it whole.
 */
export function attachTexts<T>(value: T, texts: readonly string[][]): T {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const pieces = piecesOf(v, texts);
      if (pieces) return pieces.reduce((rope, piece) => rope + piece, '');
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}

/** Characters of text a planned task carries (prompt, context, system, chunks): what a message slice is sized by. */
export function textLength(p: PortablePlannedTask): number {
  const { prompt, context, system } = p.input;
  let n = prompt.length + (context?.length ?? 0) + (system?.length ?? 0);
  if (p.split) for (const c of p.split.chunks) n += c.length;
  return n;
}
