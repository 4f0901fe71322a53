import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findRedisServer } from './find-redis-server.ts';
import { probeRedisPort } from './probe-redis-port.ts';

/** Where the embedded Redis keeps its AOF, pid file and log when ORCHEX_REDIS_DIR is unset. */
export const DEFAULT_REDIS_DIR = join('.orchex', 'redis');

/** The part of a pino logger this module writes to. */
interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** How `npm start` finds or starts its Redis when REDIS_URL is unset. */
export interface EmbeddedRedisOptions {
  /** The loopback port it probes and, when nothing answers there, starts Redis on (ORCHEX_REDIS_PORT). */
  port: number;
  /** AOF, pid file and redis.log. Default {@link DEFAULT_REDIS_DIR}, relative to the working directory. */
  dir?: string;
  /** ORCHEX_REDIS_SERVER: the redis-server binary to run. Default: see findRedisServer. */
  serverPath?: string;
  /** Longest wait for a started server to answer PING, AOF replay included. Default 60000 ms. */
  readyTimeoutMs?: number;
  log: Log;
}

/** The Redis `npm start` uses when REDIS_URL is unset. */
export interface EmbeddedRedis {
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  /**
   * `started`: ours, started now; `adopted`: ours, left running by an orchex that was killed before it could stop it;
   * `existing`: someone else's Redis already answering on the port, used and left alone.
   */
  readonly origin: 'started' | 'adopted' | 'existing';
  /** Process id of the server we own and will stop; undefined for an existing one. */
  readonly pid: number | undefined;
  readonly dir: string;
  /** Stops the server we own (SIGTERM: Redis fsyncs its AOF and exits; SIGKILL after 10 s). Safe to call twice. */
  stop(): Promise<void>;
}

// Durable for BullMQ: every write in the AOF, fsynced once a second; refuse writes rather than evict jobs; reachable
// from this machine only. RDB snapshots are off: the AOF is the copy.
const serverArgs = (port: number, dir: string) => [
  '--port',
  String(port),
  '--bind',
  '127.0.0.1',
  '--protected-mode',
  'yes',
  '--dir',
  dir,
  '--appendonly',
  'yes',
  '--appendfsync',
  'everysec',
  '--maxmemory-policy',
  'noeviction',
  '--save',
  '',
  '--pidfile',
  join(dir, 'redis.pid'),
  '--logfile',
  join(dir, 'redis.log'),
  '--daemonize',
  'no',
];

/** True when `pid` runs and this user may signal it (EPERM, another user's process, is not one orchex started). */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The pid in dir/redis.pid when that process is a live redis-server serving `port` (an orphan of a killed orchex). */
function orphanPid(dir: string, port: number): number | undefined {
  const file = join(dir, 'redis.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  // Where /proc exists, make sure the pid was not reused by another program: Redis titles itself "redis-server host:port".
  const cmdline = `/proc/${pid}/cmdline`;
  if (existsSync('/proc/self')) {
    try {
      const title = readFileSync(cmdline, 'utf8').replaceAll('\0', ' ');
      if (!title.includes('redis-server') || !title.includes(`:${port}`)) return undefined;
    } catch {
      return undefined;
    }
  }
  return pid;
}

/** Sends SIGTERM, waits until `gone()` (up to 10 s), then SIGKILL. */
async function terminate(pid: number, gone: () => Promise<boolean> | boolean): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (await gone()) return;
    await sleep(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
}

/**
 * The Redis for `npm start` when REDIS_URL is unset: the one answering PING on 127.0.0.1:port if there is one;
 * otherwise a private redis-server started on that port with its AOF in `dir`, for the life of this process. It runs
 * in its own process group, so a Ctrl-C meant for orchex does not stop it while workers drain; orchex stops it by
 * its pid (stop(), or SIGTERM from an exit hook on any other exit). One left behind by a killed orchex is adopted.
 */
export async function ensureEmbeddedRedis(opts: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const { port, log } = opts;
  const dir = resolve(opts.dir ?? DEFAULT_REDIS_DIR);
  const url = `redis://127.0.0.1:${port}`;

  const probe = await probeRedisPort(port);
  if (probe.state === 'other') {
    throw new Error(
      `127.0.0.1:${port} is taken by something that does not answer PING as an open Redis (${probe.reply}): ` +
        'set REDIS_URL to your Redis (with its password), or ORCHEX_REDIS_PORT to a free port for orchex to start its own',
    );
  }
  if (probe.state === 'redis') {
    const orphan = orphanPid(dir, port);
    if (orphan === undefined) {
      log.info({ url }, 'REDIS_URL unset: using the Redis that answers there');
      return { url, origin: 'existing', pid: undefined, dir, stop: async () => {} };
    }
    log.warn(
      { url, dir, redisPid: orphan },
      'adopted the embedded Redis left running by an earlier orchex; stopped on exit',
    );
    return owned(url, 'adopted', orphan, dir, undefined, log);
  }

  const binary = await findRedisServer({
    serverPath: opts.serverPath,
    onBuild: (note) => log.warn({}, note),
  });
  mkdirSync(dir, { recursive: true });
  const child = spawn(binary.path, serverArgs(port, dir), { cwd: dir, stdio: 'ignore', detached: true });
  const exited = new Promise<string>((res) => {
    child.once('exit', (code, signal) => res(signal ? `killed by ${signal}` : `exit code ${code}`));
    child.once('error', (err) => res(err.message));
  });
  let exitReason: string | undefined;
  void exited.then((r) => {
    exitReason = r;
  });
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    const p = await probeRedisPort(port);
    if (p.state === 'redis' && !p.loading) break;
    if (exitReason !== undefined || Date.now() > deadline) {
      if (exitReason === undefined) child.kill('SIGKILL');
      const why = exitReason ?? `no answer to PING within ${opts.readyTimeoutMs ?? 60_000} ms`;
      throw new Error(`${binary.path} did not start on ${url} (${why}); see ${join(dir, 'redis.log')}:\n${tail(dir)}`);
    }
    await sleep(50);
  }
  const pid = child.pid as number;
  log.info(
    { url, dir, redisPid: pid, binary: binary.path, from: binary.source },
    'embedded Redis started (AOF everysec, noeviction, loopback only); stopped when orchex exits',
  );
  return owned(url, 'started', pid, dir, { child, exited }, log);
}

/** The last lines of redis.log, which say why a server did not start (port in use, a bad AOF, …). */
function tail(dir: string): string {
  try {
    return readFileSync(join(dir, 'redis.log'), 'utf8').trimEnd().split('\n').slice(-5).join('\n');
  } catch {
    return '(no redis.log)';
  }
}

function owned(
  url: string,
  origin: 'started' | 'adopted',
  pid: number,
  dir: string,
  spawned: { child: ChildProcess; exited: Promise<string> } | undefined,
  log: Log,
): EmbeddedRedis {
  let stopping = false;
  let gone = false;
  // A child we spawned reports its exit; an adopted process is polled.
  void spawned?.exited.then((reason) => {
    gone = true;
    if (!stopping)
      log.error({ url, redisPid: pid, reason, log: join(dir, 'redis.log') }, 'embedded Redis exited while orchex ran');
  });
  const isGone = () => gone || (spawned === undefined && !alive(pid));
  // Synchronous, as exit hooks must be: on any exit that skipped stop() (a crash, process.exit), Redis still gets
  // SIGTERM and shuts down cleanly on its own after we are gone.
  const onExit = () => {
    try {
      if (!isGone()) process.kill(pid, 'SIGTERM');
    } catch {
      // gone meanwhile
    }
  };
  process.on('exit', onExit);
  return {
    url,
    origin,
    pid,
    dir,
    async stop() {
      if (stopping) return;
      stopping = true;
      await terminate(pid, isGone);
      process.off('exit', onExit);
      log.info({ url, redisPid: pid }, 'embedded Redis stopped');
    },
  };
}
