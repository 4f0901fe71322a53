import { z } from 'zod';

/** Longest a cached answer may be kept, in seconds (30 days): longer would mostly keep answers nobody asks again. */
export const MAX_CACHE_TTL_SEC = 30 * 24 * 3600;

/** A TTL in whole seconds, 1 … 30 days. */
export const cacheTtlSec = z
  .number()
  .int('must be a whole number of seconds')
  .min(1, 'must be at least 1 second')
  .max(MAX_CACHE_TTL_SEC, `at most ${MAX_CACHE_TTL_SEC} seconds (30 days)`);

/**
 * How a task or a rule opts into the result cache: `true` (the config's cache.ttl), `false` (not cached), or a TTL in
 * whole seconds.
 */
export const cacheSetting = z.union([z.boolean(), cacheTtlSec], 'must be true, false or a TTL in whole seconds');

/** The `cache` section of the config: defaults of the exact-match result cache in Redis. */
export const cacheConfigSchema = z
  .object({
    /** Seconds an answer is kept when a task or rule says `cache: true`. Default 3600. */
    ttl: cacheTtlSec.default(3600),
    /** Answers larger than this (bytes of JSON) are not stored. Default 1 MiB. */
    max_entry_bytes: z
      .number()
      .int()
      .min(1024, 'at least 1024 bytes')
      .default(1024 * 1024),
    /** Entries kept at most; the oldest are evicted beyond it. Default 10000. */
    max_entries: z.number().int().min(1, 'at least 1').max(10_000_000, 'at most 10,000,000').default(10_000),
    /**
     * Bytes of answers (JSON) kept at most, all entries together; the oldest are evicted beyond it. Redis runs with
     * noeviction for the queues, so the cache must not be able to fill it. Default 100 MiB.
     */
    max_bytes: z
      .number()
      .int()
      .min(1024, 'at least 1024 bytes')
      .default(100 * 1024 * 1024),
    /** One cache across API keys (true), or one per key (false: a key never sees another key's answers). Default false. */
    shared: z.boolean().default(false),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.max_entry_bytes > c.max_bytes)
      ctx.addIssue({
        code: 'custom',
        path: ['max_entry_bytes'],
        message: `must not exceed max_bytes (${c.max_bytes})`,
      });
  });

/** The resolved cache section. */
export type CacheConfig = z.output<typeof cacheConfigSchema>;
