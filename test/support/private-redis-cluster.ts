import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** How to start a private Redis Cluster. */
export interface RedisClusterOptions {
  /**
   * First client port; nodes take basePort, basePort+1, … and their cluster buses basePort+10000, …. Each test file
   * gets its own range (tests run in parallel and share the machine with other users of 7100–7199 only by agreement).
   */
  basePort: number;
  /** Masters. Default 3 (the fewest a cluster accepts). */
  masters?: number;
  /** Replicas per master. Default 0. */
  replicas?: number;
  /** cluster-node-timeout: how long a master may be silent before its replica takes over. Default 2000 ms. */
  nodeTimeoutMs?: number;
}

/** One redis-server of the cluster. */
export interface ClusterNodeProcess {
  port: number;
  readonly pid: number | undefined;
  /** `kill -9`: no shutdown, as a crashed host would; resolves once the process is gone. */
  kill(): Promise<void>;
}

/** A Redis Cluster of redis-server children on loopback, stopped by the pids this helper started. */
export interface PrivateRedisCluster {
  /** redis://127.0.0.1:<first port>: one seed node, as REDIS_URL names it. */
  url: string;
  /** host:port of every node, as ORCHEX_REDIS_NODES lists them. */
  nodes: string[];
  processes: ClusterNodeProcess[];
  /** `redis-cli -p port args…` against one node; the reply as text. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** The port of the master serving the slot of `key` (a hash tag such as `{gpt-test}` picks the slot). */
  masterOf(key: string): Promise<number>;
  /**
   * Resolves once every live node reports cluster_state:ok and agrees on one master per slot range, and every replica
   * has its master's data (so a master may be killed from then on).
   */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Kills every node and removes the data directories. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts `masters × (1 + replicas)` redis-server processes in cluster mode (AOF everysec, noeviction, as the queues
 * need) and joins them with `redis-cli --cluster create … --cluster-yes`, so a test needs nothing but the
 * redis-server binary. Every process is SIGKILLed when this Node process exits, if a test forgot.
 */
export async function startRedisCluster(opts: RedisClusterOptions): Promise<PrivateRedisCluster> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicas ?? 0;
  const count = masters * (1 + replicas);
  const ports = Array.from({ length: count }, (_, i) => opts.basePort + i);
  for (const p of ports) {
    if (!(await portFree(p)) || !(await portFree(p + 10_000)))
      throw new Error(`port ${p} or its cluster bus ${p + 10_000} is in use: pick another basePort`);
  }
  const root = mkdtempSync(join(tmpdir(), 'orchex-cluster-'));
  const children = new Map<number, ChildProcess>();
  const onExit = () => {
    for (const c of children.values()) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  };
  process.on('exit', onExit);

  const cli = async (port: number, ...args: string[]) =>
    (await run('redis-cli', ['-p', String(port), ...args], { timeout: 30_000 })).stdout;

  const launch = async (port: number) => {
    const dir = join(root, String(port));
    mkdirSync(dir, { recursive: true });
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--logfile',
        'redis.log',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-node-timeout',
        String(opts.nodeTimeoutMs ?? 2000),
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--maxmemory-policy',
        'noeviction',
        '--save',
        '',
      ],
      { cwd: dir, stdio: 'ignore' },
    );
    children.set(port, child);
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server ${port} exited at start (see ${dir}/redis.log)`);
      if ((await cli(port, 'PING').catch(() => '')).trim() === 'PONG') return;
      if (Date.now() > deadline) throw new Error(`redis-server ${port} did not answer PING`);
      await sleep(50);
    }
  };

  const stop = async () => {
    process.off('exit', onExit);
    await Promise.all([...children.values()].map(killChild));
    children.clear();
    rmSync(root, { recursive: true, force: true });
  };

  try {
    await Promise.all(ports.map(launch));
    // --cluster create makes the first `masters` nodes masters and assigns the rest as their replicas.
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { timeout: 60_000 },
    );
  } catch (err) {
    await stop();
    throw err;
  }

  const live = () => ports.filter((p) => children.get(p)?.exitCode === null && !children.get(p)?.signalCode);

  /** What each live node thinks of the cluster and the end of its log: the data directories go with stop(). */
  const diagnose = async () => {
    const parts: string[] = [];
    for (const p of ports) {
      const alive = live().includes(p);
      const info = alive ? await cli(p, 'CLUSTER', 'INFO').catch((e: Error) => e.message) : '';
      const nodes = alive ? await cli(p, 'CLUSTER', 'NODES').catch((e: Error) => e.message) : '';
      let log = '';
      try {
        log = readFileSync(join(root, String(p), 'redis.log'), 'utf8')
          .trim()
          .split('\n')
          .slice(-25)
          .join('\n');
      } catch {}
      const state = info.match(/cluster_state:\w+/)?.[0] ?? '';
      parts.push(`--- ${p} ${alive ? state : 'killed'}\n${nodes.trim()}\n${log}`);
    }
    return parts.join('\n');
  };

  const cluster: PrivateRedisCluster = {
    url: `redis://127.0.0.1:${ports[0]}`,
    nodes: ports.map((p) => `127.0.0.1:${p}`),
    processes: ports.map((port) => ({
      port,
      get pid() {
        return children.get(port)?.pid;
      },
      kill: async () => {
        const c = children.get(port);
        if (c) await killChild(c);
      },
    })),
    cli,
    async masterOf(key) {
      const port = live()[0] as number;
      const slot = Number((await cli(port, 'CLUSTER', 'KEYSLOT', key)).trim());
      for (const [from, to, master] of await clusterSlots(cli, port)) if (slot >= from && slot <= to) return master;
      throw new Error(`no master serves slot ${slot}`);
    },
    async waitHealthy(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const states = await Promise.all(live().map((p) => cli(p, 'CLUSTER', 'INFO').catch(() => '')));
        const ok = states.every((s) => s.includes('cluster_state:ok'));
        if (ok) {
          // Every node must also have learnt the same slot owners (a failover is gossiped, not instant).
          const maps = await Promise.all(live().map((p) => clusterSlots(cli, p).catch(() => [])));
          const texts = maps.map((m) => JSON.stringify([...m].sort((a, b) => a[0] - b[0])));
          const slots = maps[0]?.reduce((n, [from, to]) => n + (to - from + 1), 0);
          // …and no slot may still be owned by a killed node (right after a kill the others have not noticed yet).
          const ownersAlive = (maps[0] ?? []).every(([, , master]) => live().includes(master));
          // …and every replica must hold its master's data. A replica that never finished its first sync refuses to
          // stand for election (Redis counts its data as "down since ever"), so a master killed before then would
          // leave its slots unserved for good; Redis' diskless sync waits 5 s before it starts.
          if (slots === 16384 && ownersAlive && texts.every((t) => t === texts[0])) {
            const synced = await Promise.all(live().map((p) => replicaSynced(cli, p)));
            if (synced.every(Boolean)) return;
          }
        }
        if (Date.now() > deadline) throw new Error(`redis cluster did not become healthy\n${await diagnose()}`);
        await sleep(100);
      }
    },
    stop,
  };
  await cluster.waitHealthy();
  return cluster;
}

/** [first slot, last slot, master port] of every slot range, as one node sees the cluster. */
async function clusterSlots(
  cli: (port: number, ...args: string[]) => Promise<string>,
  port: number,
): Promise<Array<[number, number, number]>> {
  // CLUSTER SHARDS would be neater but is 7.0+ only in its reply shape; CLUSTER NODES is stable text.
  const text = await cli(port, 'CLUSTER', 'NODES');
  const out: Array<[number, number, number]> = [];
  for (const line of text.trim().split('\n')) {
    const [, addr, flags, , , , , , ...slots] = line.split(' ');
    if (!flags?.includes('master') || flags.includes('fail')) continue;
    const masterPort = Number(addr?.split('@')[0]?.split(':')[1]);
    for (const range of slots) {
      if (range.startsWith('[')) continue; // a slot being migrated
      const [from, to] = range.split('-').map(Number);
      out.push([from as number, (to ?? from) as number, masterPort]);
    }
  }
  return out;
}

/** True for a master, or for a replica whose link to its master is up with no sync under way. */
async function replicaSynced(cli: (port: number, ...args: string[]) => Promise<string>, port: number) {
  const info = await cli(port, 'INFO', 'replication').catch(() => '');
  if (info.includes('role:master')) return true;
  return info.includes('master_link_status:up') && info.includes('master_sync_in_progress:0');
}

async function killChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise((r) => c.once('exit', r));
  c.kill('SIGKILL');
  await gone;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
