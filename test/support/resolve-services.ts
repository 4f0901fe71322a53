/** Where the tests' Redis and Postgres are, and how to stop any containers started for them. */
export interface Services {
  redisUrl: string;
  databaseUrl: string;
  stop: () => Promise<void>;
}

const HOW =
  'Set REDIS_URL and DATABASE_URL (e.g. REDIS_URL=redis://127.0.0.1:6379 DATABASE_URL=postgres://postgres@127.0.0.1:5432/test), ' +
  'or run a container runtime (Docker/Podman) so testcontainers can start them.';

export async function resolveServices(env: NodeJS.ProcessEnv = process.env): Promise<Services> {
  if (env.REDIS_URL && env.DATABASE_URL) {
    return { redisUrl: env.REDIS_URL, databaseUrl: env.DATABASE_URL, stop: async () => {} };
  }
  let runtimeOk = false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    runtimeOk = true;
  } catch {
    runtimeOk = false;
  }
  if (!runtimeOk) throw new Error(`Tests need Redis and PostgreSQL. ${HOW}`);

  const stops: Array<() => Promise<unknown>> = [];
  let redisUrl = env.REDIS_URL;
  if (!redisUrl) {
    const { RedisContainer } = await import('@testcontainers/redis');
    const c = await new RedisContainer('redis:7-alpine').start();
    stops.push(() => c.stop());
    redisUrl = c.getConnectionUrl();
  }
  let databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const c = await new PostgreSqlContainer('postgres:15-alpine').start();
    stops.push(() => c.stop());
    databaseUrl = c.getConnectionUri();
  }
  return {
    redisUrl,
    databaseUrl,
    stop: async () => {
      await Promise.all(stops.map((s) => s()));
    },
  };
}
