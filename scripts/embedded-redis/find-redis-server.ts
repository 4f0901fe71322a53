import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** A redis-server binary and where it came from (printed at start). */
export interface RedisServerBinary {
  path: string;
  source: 'ORCHEX_REDIS_SERVER' | 'PATH' | 'redis-memory-server';
}

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * The redis-server `npm start` runs: `serverPath` (ORCHEX_REDIS_SERVER) when given, else `redis-server` on PATH, else
 * one from the optional npm package redis-memory-server, which downloads the Redis source from download.redis.io and
 * builds it with make (minutes, once; cached under node_modules/.cache). Without internet access or a C compiler that
 * last way cannot work, and the error says so and what to do instead.
 */
export async function findRedisServer(
  options: { serverPath?: string; env?: NodeJS.ProcessEnv; onBuild?: (note: string) => void } = {},
): Promise<RedisServerBinary> {
  if (options.serverPath) {
    if (executable(options.serverPath)) return { path: options.serverPath, source: 'ORCHEX_REDIS_SERVER' };
    throw new Error(`ORCHEX_REDIS_SERVER=${options.serverPath} is not an executable file`);
  }
  for (const dir of (options.env?.PATH ?? process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'redis-server');
    if (executable(candidate)) return { path: candidate, source: 'PATH' };
  }

  const instead =
    'Install Redis (apt-get install redis-server, brew install redis, …), set ORCHEX_REDIS_SERVER to a redis-server ' +
    'binary, or set REDIS_URL to a running Redis.';
  let RedisBinary: { getPath(): Promise<string> };
  try {
    ({ RedisBinary } = await import('redis-memory-server'));
  } catch {
    throw new Error(
      `no redis-server on PATH, and the optional package redis-memory-server is not installed. ${instead}`,
    );
  }
  options.onBuild?.(
    'no redis-server on PATH: redis-memory-server is downloading the Redis source from download.redis.io and ' +
      'building it (needs internet access, make and a C compiler; takes minutes, once)',
  );
  try {
    return { path: await RedisBinary.getPath(), source: 'redis-memory-server' };
  } catch (err) {
    throw new Error(
      `no redis-server on PATH, and redis-memory-server could not provide one: ${(err as Error).message}. ` +
        'It downloads the Redis source from download.redis.io and builds it, so it cannot work without internet ' +
        `access, make and a C compiler. ${instead}`,
    );
  }
}
