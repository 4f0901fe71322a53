import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

/** Names an API key in stored rows and logs: a stable id, never the key. */
export type KeyId = (key: string) => string;

/**
 * Key ids as HMAC-SHA256 under a server secret: without the secret, a stored id cannot be checked against guessed
 * keys (a bare SHA-256 of a short or reused key could be, offline, by anyone who reads the database).
 */
export function keyIdWith(secret: string): KeyId {
  return (key) => createHmac('sha256', secret).update(key).digest('hex').slice(0, 32);
}

/** Compares digests so the time taken says nothing about how much of the key matched. */
function matches(candidate: string, keyDigests: Buffer[]): boolean {
  const d = createHash('sha256').update(candidate).digest();
  let found = false;
  for (const k of keyDigests) found = timingSafeEqual(d, k) || found;
  return found;
}

const digest = (k: string) => createHash('sha256').update(k).digest();

function bearer(req: Request): string | undefined {
  const h = req.headers.authorization;
  return h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined;
}

declare global {
  namespace Express {
    interface Locals {
      /** keyId() of the caller's API key, set by requireApiKey. */
      apiKeyId: string;
      /** Whether the caller used the admin key. */
      isAdmin: boolean;
    }
  }
}

/**
 * Every /v1 route: `Authorization: Bearer <key>` with a key from ORCHEX_API_KEYS (the admin key also works and
 * sees everything).
 */
export function requireApiKey(apiKeys: string[], adminKey: string | undefined, keyId: KeyId) {
  const keys = apiKeys.map(digest);
  const admin = adminKey ? [digest(adminKey)] : [];
  return (req: Request, res: Response, next: NextFunction) => {
    const key = bearer(req);
    if (!key) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer')
        // `type` too, so OpenAI clients of /v1/chat/completions read it as their own AuthenticationError.
        .json({
          error: {
            code: 'unauthorized',
            type: 'invalid_request_error',
            message: 'missing Authorization: Bearer <api key>',
          },
        });
      return;
    }
    const isAdmin = matches(key, admin);
    if (!isAdmin && !matches(key, keys)) {
      res
        .status(401)
        .json({ error: { code: 'unauthorized', type: 'invalid_request_error', message: 'invalid API key' } });
      return;
    }
    res.locals.apiKeyId = keyId(key);
    res.locals.isAdmin = isAdmin;
    next();
  };
}

/**
 * Admin surfaces (Bull Board, dashboard): the admin key as Bearer, or as the password of HTTP Basic auth so a
 * browser's login prompt works. Without a configured admin key these surfaces answer 404: disabled, not open.
 */
export function requireAdmin(adminKey: string | undefined, keyId: KeyId) {
  const admin = adminKey ? [digest(adminKey)] : [];
  return (req: Request, res: Response, next: NextFunction) => {
    if (!adminKey) {
      res
        .status(404)
        .json({ error: { code: 'disabled', message: 'admin surfaces are disabled: set ORCHEX_ADMIN_KEY' } });
      return;
    }
    let key = bearer(req);
    const h = req.headers.authorization;
    if (!key && h?.startsWith('Basic ')) {
      const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
      key = decoded.slice(decoded.indexOf(':') + 1);
    }
    if (key && matches(key, admin)) {
      res.locals.isAdmin = true;
      res.locals.apiKeyId = keyId(key);
      next();
      return;
    }
    res
      .status(401)
      .set('WWW-Authenticate', 'Basic realm="orchex admin", charset="UTF-8"')
      .json({
        error: { code: 'unauthorized', message: 'admin key required (Bearer, or Basic with any user name)' },
      });
  };
}
