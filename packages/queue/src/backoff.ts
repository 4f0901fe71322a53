/**
 * Delay before retry number `retry` (1-based) on the same model: exponential with "equal jitter" (half fixed, half
 * random, so retries of many tasks spread out) and never shorter than the provider's own retry hint.
 */
export function retryDelayMs(retry: number, baseMs: number, hintMs?: number, capMs = 60_000): number {
  const exp = Math.min(capMs, baseMs * 2 ** (retry - 1));
  const jittered = exp / 2 + Math.random() * (exp / 2);
  return Math.ceil(Math.max(hintMs ?? 0, jittered));
}
