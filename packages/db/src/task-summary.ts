import { getTableColumns } from 'drizzle-orm';
import { tasks } from './schema.ts';

/**
 * Every column of `tasks` but the input (prompt, messages, context, system), which can be megabytes: what the API
 * reads to show a task or answer a submit. Decoding a 10 MB context that is never shown would hold the API's event
 * loop for tens of milliseconds on every poll.
 */
export const taskSummaryColumns = (() => {
  const { prompt: _p, messages: _m, context: _c, system: _s, ...rest } = getTableColumns(tasks);
  return rest;
})();

/** A tasks row without its input (see taskSummaryColumns). */
export type TaskSummaryRow = { [K in keyof typeof taskSummaryColumns]: (typeof tasks.$inferSelect)[K] };
