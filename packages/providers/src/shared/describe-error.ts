import { safeMessage } from './safe-message.ts';

/** A short, storable description of a non-HTTP failure: names and socket messages only, never body excerpts. */
export function describeError(error: unknown, secrets: readonly (string | undefined)[] = []): string {
  if (!(error instanceof Error)) return 'unknown error';
  // JSON parse errors quote the body they failed on; that body may hold generated text, so leave it out.
  if (error instanceof SyntaxError) return 'response body is not valid JSON';
  const cause = error.cause instanceof Error ? ` (${error.cause.name}: ${error.cause.message})` : '';
  return safeMessage(`${error.name}: ${error.message}${cause}`, secrets);
}
