/**
 * The Postgres SQLSTATE of a failed query (e.g. '23505' unique_violation), or undefined. Drizzle wraps driver
 * errors in DrizzleQueryError, so the code sits on `cause`; both node-postgres and PGlite set `code`.
 */
export function pgErrorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}
