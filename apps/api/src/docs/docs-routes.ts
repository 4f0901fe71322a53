import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runtimeFile } from '@orchex/core';
import { type Request, type Response, Router } from 'express';
import { openApiDocument } from '../openapi/openapi-document.ts';

// The page's files: beside this source, or in dist/docs where `npm run build` copies them.
const here = fileURLToPath(runtimeFile(import.meta.url, '.', './docs'));
const swaggerDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

const PAGE_HEADERS = {
  // Swagger UI sets inline styles and draws icons as data: images; scripts come from this origin only.
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

/**
 * `GET /openapi.json` (OpenAPI 3.1, generated once from the zod schemas) and `GET /docs`, a reference page over it.
 * Both are public: they describe the API, hold no configuration and no data, and every route they list needs its key.
 */
export function docsRoutes(): Router {
  const router = Router();
  const document = JSON.stringify(openApiDocument());
  const file = (dir: string, name: string, type: string) => (_req: Request, res: Response) => {
    res.set(PAGE_HEADERS).set('Cache-Control', 'public, max-age=300').type(type).sendFile(join(dir, name));
  };
  router.get('/openapi.json', (_req: Request, res: Response) => {
    res.set('Cache-Control', 'public, max-age=300').type('application/json').send(document);
  });
  router.get('/docs', file(here, 'docs.html', 'html'));
  router.get('/docs/docs.js', file(here, 'docs.js', 'js'));
  router.get('/docs/swagger-ui.css', file(swaggerDir, 'swagger-ui.css', 'css'));
  router.get('/docs/swagger-ui-bundle.js', file(swaggerDir, 'swagger-ui-bundle.js', 'js'));
  return router;
}
