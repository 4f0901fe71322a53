import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Small private Redis and Postgres servers for tests that stop them (outages). Each is stopped by the pid it was
// started with — in stop(), and on process exit if a test forgot — never by name.

const PG_BIN = '/usr/lib/postgresql/15/bin';

/** A free loopback port (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitUntil(ok: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A private redis-server on a free loopback port (no persistence). */
export interface PrivateRedis {
  url: string;
  /** SIGKILL to the pid this helper started, as a crash would; waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port (after kill). */
  restart(): Promise<void>;
  /** kill(), for good. */
  destroy(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const onExit = () => {
    if (proc?.pid && proc.exitCode === null) process.kill(proc.pid, 'SIGKILL');
  };
  process.once('exit', onExit);
  const start = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    const p = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    proc = p;
    let out = '';
    p.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await waitUntil(() => out.includes('Ready to accept connections') || p.exitCode !== null, 'redis-server');
    if (p.exitCode !== null) throw new Error(`redis-server exited (${p.exitCode})`);
  };
  const kill = async () => {
    const p = proc;
    if (!p?.pid || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    process.kill(p.pid, 'SIGKILL');
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: start,
    destroy: async () => {
      await kill();
      process.removeListener('exit', onExit);
    },
  };
}

/** A private Postgres 15 cluster (initdb in a temp dir owned by postgres) on a free loopback port. */
export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  /** Fast shutdown of the postmaster this helper started (SIGINT to its pid), waiting until it is gone. */
  stop(): Promise<void>;
  /** pg_ctl start again on the same data directory and port. */
  start(): Promise<void>;
  /** stop() and delete the data directory. */
  destroy(): Promise<void>;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'orchex-pg-'));
  const data = join(dir, 'data');
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
  chownSync(dir, uid, gid);
  const asPostgres = (cmd: string, args: string[]) =>
    execFileSync('runuser', ['-u', 'postgres', '--', join(PG_BIN, cmd), ...args], { stdio: 'pipe' });
  asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  const postmasterPid = () => {
    try {
      return Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return undefined;
    }
  };
  let pid: number | undefined;
  const onExit = () => pid !== undefined && alive(pid) && process.kill(pid, 'SIGQUIT');
  process.once('exit', onExit);
  const start = async () => {
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
    asPostgres('pg_ctl', ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
    pid = postmasterPid();
  };
  const stop = async () => {
    const p = pid;
    if (p === undefined || !alive(p)) return;
    process.kill(p, 'SIGINT');
    await waitUntil(() => !alive(p), 'postgres to stop');
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    start,
    destroy: async () => {
      await stop();
      process.removeListener('exit', onExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
