// The entry of a RequestPlanner worker thread. Worker threads do not inherit tsx's loader (Node 20), so it is
// registered here before the TypeScript entry is imported.
import { register } from 'tsx/esm/api';

register();
await import('./plan-thread.ts');
