import { createHash, type Hash } from 'node:crypto';

/**
 * SHA-256 (hex) of `value` as JSON with object keys sorted at every depth, so the same request hashes the same
 * however its keys were ordered. Fed to the hash piece by piece: a 64 MB batch is never built as one string.
 */
export function requestHash(value: unknown): string {
  const hash = createHash('sha256');
  feed(hash, value);
  return hash.digest('hex');
}

function feed(hash: Hash, value: unknown): void {
  if (Array.isArray(value)) {
    hash.update('[');
    value.forEach((v, i) => {
      if (i > 0) hash.update(',');
      feed(hash, v);
    });
    hash.update(']');
  } else if (value !== null && typeof value === 'object') {
    hash.update('{');
    const keys = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort();
    keys.forEach((k, i) => {
      hash.update(`${i > 0 ? ',' : ''}${JSON.stringify(k)}:`);
      feed(hash, (value as Record<string, unknown>)[k]);
    });
    hash.update('}');
  } else {
    hash.update(JSON.stringify(value) ?? 'null');
  }
}
