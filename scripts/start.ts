import { runOrchex } from './run-orchex.ts';

/** `npm start`: migrations already ran in `npm run db:migrate`; then the API and one worker in one process. */
await runOrchex({ migrate: false });
