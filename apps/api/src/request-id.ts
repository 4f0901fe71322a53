import { randomUUID } from 'node:crypto';
import { withLogContext } from '@orchex/core';
import type { NextFunction, Request, Response } from 'express';

/** What a caller's x-request-id may be to be kept: a proxy's id or a UUID, nothing that could forge log fields. */
const USABLE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

declare global {
  namespace Express {
    interface Locals {
      /** The request's id: the caller's x-request-id when usable, else a generated UUID. */
      requestId: string;
    }
  }
}

/**
 * First middleware: takes the caller's `x-request-id` (or makes one), echoes it in the response, and runs the rest of
 * the request inside a log context, so every log line written for it — by the API or by the packages it calls —
 * carries `requestId`. An id that is too long or holds other characters is replaced, not trusted.
 */
export function requestId(req: Request, res: Response, next: NextFunction): void {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && USABLE_ID.test(given) ? given : randomUUID();
  res.locals.requestId = id;
  res.setHeader('x-request-id', id);
  withLogContext({ requestId: id }, next);
}
