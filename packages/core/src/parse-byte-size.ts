const UNITS: Record<string, number> = { b: 1, kb: 2 ** 10, mb: 2 ** 20, gb: 2 ** 30 };

/** Bytes in a size such as "12mb", "512kb", "1.5mb" or "1024" (units of 1024, as Express reads them); NaN if not one. */
export function parseByteSize(size: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(size);
  if (!m) return Number.NaN;
  return Math.floor(Number(m[1]) * (UNITS[(m[2] ?? 'b').toLowerCase()] ?? Number.NaN));
}
