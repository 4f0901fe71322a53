import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';

/** How to start a private Redis. */
export interface PrivateRedisOptions {
  /** Port on 127.0.0.1. Default: a free one (retried if another process takes it first). */
  port?: number;
  /** Where the AOF and redis.log go. Default: a new temp dir, removed by stop(). */
  dir?: string;
  /** How long a (re)start may take to answer PING, AOF replay included. Default 30000 ms. */
  readyTimeoutMs?: number;
}

/** A redis-server child process that only its owner uses, so a test may kill it without harming anyone else. */
export interface PrivateRedis {
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** Working directory of the server: appendonlydir/ and redis.log. */
  readonly dir: string;
  /** Process id of the running server; undefined while it is killed. */
  readonly pid: number | undefined;
  /** `kill -9` (no shutdown, no final fsync: what the AOF holds is what survives); resolves once it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory, so it replays its AOF; resolves when PING answers. */
  restart(): Promise<void>;
  /** Kills it if running and removes the directory if this module created it. Safe to call twice. */
  stop(): Promise<void>;
}

// The durability an operator would configure for BullMQ: every write in the AOF, fsynced once a second (so a
// kill -9 may lose the last second), and noeviction so Redis refuses writes rather than dropping jobs.
const DURABLE_ARGS = [
  '--appendonly',
  'yes',
  '--appendfsync',
  'everysec',
  '--maxmemory-policy',
  'noeviction',
  '--save',
  '',
];

/**
 * Starts `redis-server` on a loopback port with AOF persistence. The process is killed when this Node process
 * exits (an 'exit' hook), so a failed test cannot leave it running; only the pid this module spawned is signalled.
 */
export async function startPrivateRedis(opts: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'orchex-redis-'));
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  let port = opts.port ?? (await freePort());
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stopped = false;

  // Synchronous, as 'exit' hooks must be: SIGKILL needs no waiting, and a killed server writes nothing more.
  const killOnExit = () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', killOnExit);

  const launch = async (): Promise<void> => {
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--logfile', 'redis.log', ...DURABLE_ARGS],
      { cwd: dir, stdio: 'ignore' },
    );
    child = proc;
    let gone = false;
    exited = new Promise<void>((resolve) => {
      proc.once('exit', () => {
        gone = true;
        resolve();
      });
      // spawn failures (e.g. redis-server not installed) surface as 'error' without an 'exit'.
      proc.once('error', () => {
        gone = true;
        resolve();
      });
    });
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (gone) throw new Error(`redis-server on port ${port} exited at start (see ${join(dir, 'redis.log')})`);
      if (await pingOnce(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    proc.kill('SIGKILL');
    throw new Error(`redis-server on port ${port} did not answer PING within ${readyTimeoutMs} ms`);
  };

  // A free port can be taken between freePort() and the bind: try a few others before giving up.
  for (let tries = 1; ; tries++) {
    try {
      await launch();
      break;
    } catch (err) {
      if (opts.port !== undefined || tries >= 3) {
        process.off('exit', killOnExit);
        if (ownDir) rmSync(dir, { recursive: true, force: true });
        throw err;
      }
      port = await freePort();
    }
  }

  const kill = async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    child = undefined;
  };
  return {
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    dir,
    get pid() {
      return child?.pid;
    },
    kill,
    async restart() {
      if (stopped) throw new Error('private Redis was stopped');
      await kill();
      await launch();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      process.off('exit', killOnExit);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** True when the server answers PING with PONG (not LOADING while it replays the AOF, not a refused connect). */
function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
