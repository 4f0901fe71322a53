import type { Dependency } from '@orchex/core';
import type { Db } from '@orchex/db';
import type { RedisClient } from '@orchex/queue';
import { sql } from 'drizzle-orm';
import type { Request, Response } from 'express';
import { RETRY_AFTER_SECONDS } from './http-errors.ts';

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms).unref()),
  ]);

/**
 * 200 when Redis and Postgres both answer within 2 s, else 503 with Retry-After naming which one does not. Only
 * "ok" or "down": a driver's message can hold the connection string (host, user) and is logged elsewhere.
 */
export function healthRoute(redis: RedisClient, db: Db) {
  return async (_req: Request, res: Response) => {
    const [r, p] = await Promise.allSettled([within(redis.ping(), 2000), within(db.execute(sql`select 1`), 2000)]);
    const state = {
      redis: r.status === 'fulfilled' ? 'ok' : 'down',
      postgres: p.status === 'fulfilled' ? 'ok' : 'down',
    };
    const down = (Object.keys(state) as Dependency[]).filter((d) => state[d] === 'down');
    if (down.length === 0) {
      res.status(200).json(state);
      return;
    }
    const message = `${down.join(' and ')} ${down.length > 1 ? 'are' : 'is'} unavailable`;
    res
      .status(503)
      .set('Retry-After', String(RETRY_AFTER_SECONDS))
      .json({ ...state, error: { code: 'dependency_unavailable', message } });
  };
}
