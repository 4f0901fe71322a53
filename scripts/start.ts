import { runOrchex } from './run-orchex.ts';

/**
 * `npm start`: migrations already ran in `npm run db:migrate`; then the API and one worker in one process (and, with
 * REDIS_URL unset, a Redis of its own). Compiled to dist/start.js. From source, run it as `node --import tsx`, not
 * through the tsx CLI: that wrapper SIGKILLs a child that has not acknowledged a Ctrl-C within 30 ms, which on a busy
 * machine cut the drain short and left the Redis running.
 */
await runOrchex({ migrate: false });
