import type { NextFunction, Request, Response } from 'express';

/**
 * Admin pages (Bull Board, the dashboard) may not be framed by another site (clickjacking): every answer under them,
 * 401 prompts included, says so. Pages that set a fuller policy of their own keep `frame-ancestors 'none'` in it.
 */
export function noFraming(_req: Request, res: Response, next: NextFunction): void {
  res.set({ 'Content-Security-Policy': "frame-ancestors 'none'", 'X-Frame-Options': 'DENY' });
  next();
}
