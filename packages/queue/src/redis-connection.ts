import { Cluster, type ClusterNode, Redis, type RedisOptions } from 'ioredis';
import { logConnectionError } from './connection-error-log.ts';
import type { RedisClient, ReplicaAcks } from './limits/lua-command.ts';

/** Redis Cluster seed nodes (host:port or redis:// URLs); the client discovers every other node from them. */
export interface RedisClusterSetting {
  nodes: string[];
}

/** How createRedis connects. */
export interface CreateRedisOptions {
  /** true (the API): commands fail at once while Redis is down, so a submit answers 503 instead of hanging. */
  failFast?: boolean;
  /** Set → ioredis' Cluster client over these seed nodes; credentials and TLS still come from `url`. Default: unset. */
  cluster?: RedisClusterSetting | undefined;
  /**
   * true: commands issued in the same tick go out as one write (ioredis' auto-pipelining) — for a client shared by many
   * concurrent jobs' short commands, never for one that sends blocking commands (they would hold the rest back).
   * A single Redis only: on a cluster ioredis' auto-pipelines broke the result cache and the limiter in our tests.
   */
  autoPipeline?: boolean;
}

const retryStrategy = (times: number) => Math.min(times * 200, 5000);

/**
 * An ioredis client for BullMQ and orchex's own scripts: one server, or a cluster when `cluster` is set.
 * `maxRetriesPerRequest: null` lets workers' blocking commands wait through a Redis restart or a failover instead
 * of failing; ioredis reconnects with a capped backoff.
 */
export function createRedis(url: string, name = 'orchex', opts: CreateRedisOptions = {}): RedisClient {
  // failFast (the API): a command while Redis is down fails at once, so a submit answers 503 instead of hanging
  // until Redis returns; workers keep the default and simply wait.
  const perRequest: RedisOptions = opts.failFast
    ? { enableOfflineQueue: false, maxRetriesPerRequest: 1 }
    : { maxRetriesPerRequest: null };
  const pipelining = opts.autoPipeline ? { enableAutoPipelining: true } : {};
  const client: RedisClient = opts.cluster
    ? new Cluster(opts.cluster.nodes.map(seedNode), {
        redisOptions: { ...credentialsOf(url), ...perRequest, connectionName: name },
        // The cluster's own offline queue: on while a failover promotes a replica (workers wait), off for failFast.
        enableOfflineQueue: !opts.failFast,
        clusterRetryStrategy: retryStrategy,
        // A failover answers CLUSTERDOWN and MOVED for a few seconds; keep re-asking (and refreshing the slot map)
        // instead of failing the command after ioredis' default 16 redirections.
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 300,
        retryDelayOnTryAgain: 200,
        maxRedirections: 64,
        slotsRefreshTimeout: 2000,
      })
    : new Redis(url, { ...perRequest, ...pipelining, connectionName: name, retryStrategy });
  client.on('error', (err: Error) => logConnectionError(name, err));
  return client;
}

/** A seed node as ioredis takes it: `{host, port}` from host:port or a redis:// URL. */
function seedNode(node: string): ClusterNode {
  const u = new URL(node.includes('://') ? node : `redis://${node}`);
  return { host: u.hostname, port: Number(u.port || 6379) };
}

/** The user, password and TLS of a redis:// or rediss:// URL, which every cluster node shares. */
function credentialsOf(url: string): RedisOptions {
  const u = new URL(url);
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** How long a budget write waits for its replicas before going on with fewer (a replica down must not stall work). */
const REPLICA_ACK_TIMEOUT_MS = 250;

/** ORCHEX_REDIS_REPLICA_ACKS as the budget ledger takes it; undefined for 0 (no waiting). */
export function replicaAcks(replicas: number | undefined): ReplicaAcks | undefined {
  return replicas && replicas > 0 ? { replicas, timeoutMs: REPLICA_ACK_TIMEOUT_MS } : undefined;
}
