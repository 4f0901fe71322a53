/** A variant as assignVariant needs it. */
export interface Weighted {
  name: string;
  weight: number;
}

/**
 * The variant a key falls in: a 32-bit hash of `salt` and the key, scaled to the variants' total weight. The same key
 * always lands in the same variant (resubmits with the same metadata.ab_key stay in their arm), and keys spread in
 * proportion to the weights. The salt (the rule's name) keeps one key's arms independent across rules.
 */
export function assignVariant<V extends Weighted>(variants: readonly [V, ...V[]], salt: string, key: string): V {
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  let point = (hash32(`${salt}\u0000${key}`) / 2 ** 32) * total;
  for (const v of variants) {
    point -= v.weight;
    if (point < 0) return v;
  }
  return variants[variants.length - 1] as V;
}

/** FNV-1a over UTF-16 code units, then murmur3's finaliser so nearby keys (sequential ids) spread evenly. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
