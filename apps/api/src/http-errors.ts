import type { FieldIssue, Refusal } from '@orchex/core';
import { NotAcceptedError } from '@orchex/queue';
import type { NextFunction, Request, Response } from 'express';

/** An error with an HTTP status and a JSON body; thrown by routes, rendered by errorHandler. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: FieldIssue[],
  ) {
    super(message);
  }
}

/** 400 naming each bad field and what is allowed. */
export function validationError(fields: FieldIssue[]): HttpError {
  return new HttpError(400, 'validation_error', fields.map((f) => `${f.field}: ${f.message}`).join('; '), fields);
}

/** The planner's refusal as the API's error: 400 naming the field, or 422 saying why the task cannot run. */
export function refusalError(r: Refusal): HttpError {
  return r.field
    ? validationError([{ field: r.field, message: r.message }])
    : new HttpError(r.status, r.code, r.message);
}

/** Runs a submit; "nothing was accepted" (the queue is unavailable) becomes a 503 the client may retry. */
export async function submitOrUnavailable<T>(submit: () => Promise<T>): Promise<T> {
  try {
    return await submit();
  } catch (err) {
    if (err instanceof NotAcceptedError) throw new HttpError(503, 'queue_unavailable', err.message);
    throw err;
  }
}

export function notFound(_req: Request, res: Response) {
  res.status(404).json({ error: { code: 'not_found', message: 'no such route' } });
}

/**
 * Last middleware. Body-parser errors carry `type`/`status`: bad JSON → 400, too large → 413, etc. Anything else
 * unexpected is a 500 with no internals in the body (logged instead).
 */
export function errorHandler(log: (err: unknown) => void) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof HttpError) {
      res
        .status(err.status)
        .json({ error: { code: err.code, message: err.message, ...(err.fields ? { fields: err.fields } : {}) } });
      return;
    }
    const e = err as { type?: string; status?: number; message?: string; limit?: number };
    if (e?.type === 'entity.parse.failed') {
      res
        .status(400)
        .json({ error: { code: 'invalid_json', message: `request body is not valid JSON: ${e.message}` } });
      return;
    }
    if (e?.type === 'entity.too.large') {
      res.status(413).json({ error: { code: 'payload_too_large', message: `request body exceeds ${e.limit} bytes` } });
      return;
    }
    if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
      res.status(e.status).json({ error: { code: e.type ?? 'bad_request', message: e.message ?? 'bad request' } });
      return;
    }
    log(err);
    res.status(500).json({ error: { code: 'internal', message: 'internal error' } });
  };
}
