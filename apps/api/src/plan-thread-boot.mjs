// The entry of a RequestPlanner worker thread when the API runs from source. Worker threads do not inherit tsx's
// loader (Node 20), so it is registered here before the TypeScript entry is imported. The compiled API
// (`npm run build`) starts dist/plan-thread.js instead, so production never loads tsx.
import { register } from 'tsx/esm/api';

register();
await import('./plan-thread.ts');
