import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * GET /metrics: Prometheus text for a scraper holding `Authorization: Bearer` with ORCHEX_METRICS_TOKEN — a token
 * that opens nothing else, so the scraper's config need not hold the admin key — or the admin key. Neither configured
 * → 404 (disabled, not open).
 */
export function metricsRoute(
  metrics: { scrape(): Promise<string>; registry: { contentType: string } },
  tokens: Array<string | undefined>,
) {
  const allowed = tokens.filter((t): t is string => Boolean(t)).map(digest);
  return async (req: Request, res: Response) => {
    if (allowed.length === 0) {
      res.status(404).json({
        error: { code: 'disabled', message: 'metrics are disabled: set ORCHEX_METRICS_TOKEN (or ORCHEX_ADMIN_KEY)' },
      });
      return;
    }
    const h = req.headers.authorization;
    const given = h?.startsWith('Bearer ') ? digest(h.slice(7).trim()) : undefined;
    let ok = false;
    // Every digest compared, so the time taken says nothing about which token nearly matched.
    for (const a of allowed) ok = (given !== undefined && timingSafeEqual(given, a)) || ok;
    if (!ok) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer')
        .json({ error: { code: 'unauthorized', message: 'Bearer ORCHEX_METRICS_TOKEN (or the admin key) required' } });
      return;
    }
    res
      .set('Cache-Control', 'no-store')
      .type(metrics.registry.contentType)
      .send(await metrics.scrape());
  };
}
