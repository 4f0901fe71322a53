/** Redis keys of one model's limits. */
export interface LimitKeys {
  /** ZSET leaseId → acquisition time (ms): the rpm window, and the timeline of the tpm window. */
  window: string;
  /** HASH leaseId → tokens reserved/settled for acquisitions still in the window, plus `#sum` = their total. */
  tokens: string;
  /** ZSET leaseId → lease expiry (ms): calls in flight. */
  leases: string;
  /** HASH leaseId → holder, for dashboards. */
  holders: string;
}

/**
 * Keys of one model, all under the hash tag `{model}` — the same slot as the model's BullMQ queue `{model}` — so
 * each script touches one slot and works on Redis Cluster. The `limits:` segment keeps them apart from job keys.
 */
export function limitKeys(prefix: string, model: string): LimitKeys {
  if (/[{}]/.test(model)) throw new Error(`model name "${model}" must not contain "{" or "}" (it is a hash tag)`);
  const base = `${prefix}:limits:{${model}}`;
  return { window: `${base}:window`, tokens: `${base}:tokens`, leases: `${base}:leases`, holders: `${base}:holders` };
}
