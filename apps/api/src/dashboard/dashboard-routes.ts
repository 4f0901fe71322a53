import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { microsToUsd, runtimeFile } from '@orchex/core';
import { type Db, recentTasks } from '@orchex/db';
import { type NextFunction, type Request, type RequestHandler, type Response, Router } from 'express';
import type { KeyId } from '../auth.ts';

/** What the dashboard needs. */
export interface DashboardDeps {
  db: Db;
  /** Client keys (ORCHEX_API_KEYS): whose tasks the recent-task list shows, with the admin key's own. */
  apiKeys: string[];
  /** The admin key; the server uses it to call the /v1 API for the page, the page never sees it. */
  adminKey: string | undefined;
  keyId: KeyId;
  /** The /v1 router the page's read-only data calls are forwarded to. */
  api: RequestHandler;
}

/** Most recent tasks the page lists. */
export const RECENT_TASKS_LIMIT = 20;

/**
 * /v1 GET paths the page may read through `/dashboard/api/v1/...`. Only reads: the browser resends Basic
 * credentials to this origin on its own, so a cross-site page could make it call anything listed here (CSRF) —
 * GETs without side effects are harmless, and CORS keeps their answers from that page.
 */
const FORWARDED = new Set(['/costs/report', '/costs/analysis', '/budget', '/models']);

// The page's files: beside this source, or in dist/dashboard where `npm run build` copies them.
const here = fileURLToPath(runtimeFile(import.meta.url, '.', './dashboard'));
// chart.js's package exports hide dist/, so find the folder from its CommonJS entry (dist/chart.cjs).
const chartJsDir = dirname(createRequire(import.meta.url).resolve('chart.js'));

const PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/**
 * The live cost dashboard under /dashboard; mount it behind requireAdmin, which accepts the admin key as the
 * Basic-auth password so the browser's own prompt logs in and its fetches carry the credentials.
 */
export function dashboardRoutes(deps: DashboardDeps): Router {
  const router = Router();
  const keyIds = [...deps.apiKeys, ...(deps.adminKey ? [deps.adminKey] : [])].map(deps.keyId);
  const file = (dir: string, name: string, type: string) => (_req: Request, res: Response) => {
    res.set(PAGE_HEADERS).type(type).sendFile(join(dir, name));
  };

  router.get('/', file(here, 'dashboard.html', 'html'));
  router.get('/dashboard.js', file(here, 'dashboard.js', 'js'));
  router.get('/dashboard.css', file(here, 'dashboard.css', 'css'));
  router.get('/chart.js', file(chartJsDir, 'chart.umd.min.js', 'js'));

  router.get('/api/recent-tasks', async (_req: Request, res: Response) => {
    const rows = await recentTasks(deps.db, { limit: RECENT_TASKS_LIMIT, apiKeyIds: keyIds });
    res.set('Cache-Control', 'no-store').json({
      tasks: rows.map((t) => ({
        id: t.id,
        status: t.status,
        model: t.model,
        task_type: t.taskType,
        cost: microsToUsd(t.costMicros),
        created_at: t.createdAt,
        finished_at: t.finishedAt,
      })),
    });
  });

  // The page reads the same /v1 answers API clients get, so its figures are the report's by construction.
  router.get('/api/v1/*rest', (req: Request, res: Response, next: NextFunction) => {
    const url = new URL(req.url, 'http://local');
    const path = url.pathname.slice('/api/v1'.length);
    if (!FORWARDED.has(path) || !deps.adminKey) {
      next();
      return;
    }
    req.url = `${path}${url.search}`;
    req.headers.authorization = `Bearer ${deps.adminKey}`;
    deps.api(req, res, next);
  });

  return router;
}
