import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { unpackChromium } from './support/headless-browser.ts';
import { resolveServices } from './support/resolve-services.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    databaseUrl: string;
    /** The Chromium binary unpacked from @sparticuz/chromium (browser tests launch it through playwright-core). */
    chromiumPath: string;
  }
}

/**
 * Resolves Redis and Postgres once for the whole run: REDIS_URL/DATABASE_URL when set, else testcontainers when a
 * container runtime answers, else a clear failure saying what to set. Test files read them with inject().
 */
export default async function setup(project: TestProject) {
  const services = await resolveServices();
  project.provide('redisUrl', services.redisUrl);
  project.provide('databaseUrl', services.databaseUrl);
  project.provide('chromiumPath', await unpackChromium());
  return services.stop;
}
