import type { Db } from '@orchex/db';
import { sql } from 'drizzle-orm';
import type { Request, Response } from 'express';
import type { Redis } from 'ioredis';

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms).unref()),
  ]);

/** 200 when Redis and Postgres both answer within 2 s, else 503 naming which one does not. */
export function healthRoute(redis: Redis, db: Db) {
  return async (_req: Request, res: Response) => {
    const [r, p] = await Promise.allSettled([within(redis.ping(), 2000), within(db.execute(sql`select 1`), 2000)]);
    const body = {
      redis: r.status === 'fulfilled' ? 'ok' : `down: ${(r.reason as Error).message}`,
      postgres: p.status === 'fulfilled' ? 'ok' : `down: ${(p.reason as Error).message}`,
    };
    res.status(r.status === 'fulfilled' && p.status === 'fulfilled' ? 200 : 503).json(body);
  };
}
