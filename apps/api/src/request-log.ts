import { type Logger, logContext } from '@orchex/core';
import type { NextFunction, Request, Response } from 'express';

/**
 * One log line per answered request: method, matched route pattern, status and time, with the request's ids
 * (requestId, and taskId when the request submitted or read a task). Never the query string or the body.
 */
export function requestLog(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const t0 = performance.now();
    // The context object itself: a submit adds its taskId to it later in the request.
    const ids = logContext();
    res.once('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      logger.info(
        { ...ids, method: req.method, route, status: res.statusCode, ms: Math.round(performance.now() - t0) },
        'request',
      );
    });
    next();
  };
}
