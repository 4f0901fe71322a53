import { type Dependency, type FieldIssue, type Refusal, unavailableDependency } from '@orchex/core';
import { IdempotencyKeyReusedError, NotAcceptedError } from '@orchex/queue';
import type { NextFunction, Request, Response } from 'express';

/** Seconds a client is asked to wait (Retry-After) before retrying a 503. */
export const RETRY_AFTER_SECONDS = 5;

/** An error with an HTTP status and a JSON body; thrown by routes, rendered by errorHandler. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: FieldIssue[],
    /** Extra response headers (Retry-After on a 503). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

/** 503 + Retry-After naming the dependency that is down, never its address or the driver's words. */
export function dependencyUnavailable(dependency: Dependency): HttpError {
  return new HttpError(
    503,
    'dependency_unavailable',
    `${dependency} is unavailable; retry after ${RETRY_AFTER_SECONDS} s`,
    undefined,
    { 'Retry-After': String(RETRY_AFTER_SECONDS) },
  );
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

/**
 * Runs a submit; "nothing was accepted" (the queue is unavailable) becomes a 503 the client may retry, and an
 * idempotency key reused for a different request a 409 naming the key.
 */
export async function submitOrUnavailable<T>(submit: () => Promise<T>): Promise<T> {
  try {
    return await submit();
  } catch (err) {
    if (err instanceof IdempotencyKeyReusedError) {
      throw new HttpError(409, 'idempotency_key_reused', err.message, [
        { field: 'idempotency_key', message: 'already used for a different request; use a new key for a new request' },
      ]);
    }
    if (err instanceof NotAcceptedError) {
      // The submitter's only reason for refusing: the jobs could not be added to Redis.
      const message = `redis (the task queue) is unavailable; nothing was accepted, retry after ${RETRY_AFTER_SECONDS} s`;
      throw new HttpError(503, 'queue_unavailable', message, undefined, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
    }
    throw err;
  }
}

/** 404 for a route that does not exist (JSON, like every other answer). */
export function notFound(_req: Request, res: Response) {
  res.status(404).json({ error: { code: 'not_found', message: 'no such route' } });
}

/** "not valid JSON", with the position when the parser gave one: JSON.parse's own message quotes the body. */
export function invalidJson(err: unknown): HttpError {
  const position = /position (\d+)/.exec(String((err as Error)?.message))?.[1];
  return new HttpError(
    400,
    'invalid_json',
    `request body is not valid JSON${position === undefined ? '' : ` (at character ${position})`}`,
  );
}

/**
 * The answer to an error that is not a bug: the routes' HttpErrors; Postgres or Redis unreachable → 503 with
 * Retry-After; body-parser errors (which carry `type`/`status`): bad JSON → 400, too large → 413, other 4xx as given.
 */
function expectedError(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  const dependency = unavailableDependency(err);
  if (dependency) return dependencyUnavailable(dependency);
  const e = err as { type?: unknown; status?: unknown; message?: unknown; limit?: unknown } | null | undefined;
  if (e?.type === 'entity.parse.failed') return invalidJson(err);
  if (e?.type === 'entity.too.large') {
    return new HttpError(413, 'payload_too_large', `request body exceeds ${String(e.limit)} bytes`);
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    const code = typeof e.type === 'string' ? e.type : 'bad_request';
    return new HttpError(e.status, code, typeof e.message === 'string' ? e.message : 'bad request');
  }
  return undefined;
}

/**
 * Last middleware: renders expectedError's answers; anything else is a 500 with no internals in the body (logged
 * instead, through `log`, which must not print driver messages: see safeErrorText).
 */
export function errorHandler(log: (err: unknown) => void) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      // Too late for a status (the answer is already under way); end it.
      log(err);
      res.end();
      return;
    }
    const known = expectedError(err);
    if (!known) {
      log(err);
      res.status(500).json({ error: { code: 'internal', message: 'internal error' } });
      return;
    }
    if (known.headers) res.set(known.headers);
    res.status(known.status).json({
      error: { code: known.code, message: known.message, ...(known.fields ? { fields: known.fields } : {}) },
    });
  };
}
