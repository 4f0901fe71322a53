import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureEmbeddedRedis } from '../../scripts/embedded-redis/ensure-embedded-redis.ts';
import { findRedisServer } from '../../scripts/embedded-redis/find-redis-server.ts';
import { probeRedisPort } from '../../scripts/embedded-redis/probe-redis-port.ts';
import { freePort } from '../support/free-port.ts';
import { startPrivateRedis } from '../support/private-redis.ts';

// The Redis `npm start` uses when REDIS_URL is unset, on free ports and temp dirs (never the machine's 6379).
const work = mkdtempSync(join(tmpdir(), 'orchex-embedded-redis-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const logged: Array<{ msg: string; obj: object }> = [];
const log = {
  info: (obj: object, msg: string) => logged.push({ obj, msg }),
  warn: (obj: object, msg: string) => logged.push({ obj, msg }),
  error: (obj: object, msg: string) => logged.push({ obj, msg }),
};
/** True while a process with this pid exists. */
const running = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('ensureEmbeddedRedis', () => {
  it('nothing on the port: starts redis-server there (AOF everysec, noeviction, loopback), stops it by pid, keeps data', async () => {
    const port = await freePort();
    const dir = join(work, 'own');
    const redis = await ensureEmbeddedRedis({ port, dir, log });
    expect(redis.origin).toBe('started');
    expect(redis.url).toBe(`redis://127.0.0.1:${port}`);
    const pid = redis.pid as number;
    expect(running(pid)).toBe(true);
    expect(logged.find((l) => l.msg.startsWith('embedded Redis started'))?.obj).toMatchObject({ redisPid: pid, dir });

    const client = new Redis(redis.url);
    const config = async (name: string) => ((await client.config('GET', name)) as string[])[1];
    expect(await config('appendonly')).toBe('yes');
    expect(await config('appendfsync')).toBe('everysec');
    expect(await config('maxmemory-policy')).toBe('noeviction');
    expect(await config('bind')).toBe('127.0.0.1');
    expect(await config('dir')).toBe(dir);
    await client.set('kept', 'across restarts');
    client.disconnect();

    await redis.stop();
    expect(running(pid)).toBe(false);
    expect(await probeRedisPort(port)).toEqual({ state: 'free' });

    // Started again on the same dir: the AOF is replayed.
    const again = await ensureEmbeddedRedis({ port, dir, log });
    expect(again.origin).toBe('started');
    const c2 = new Redis(again.url);
    expect(await c2.get('kept')).toBe('across restarts');
    c2.disconnect();
    await again.stop();
    expect(running(again.pid as number)).toBe(false);
  });

  it('a Redis already answering on the port is used and left running', async () => {
    const other = await startPrivateRedis();
    try {
      const redis = await ensureEmbeddedRedis({ port: other.port, dir: join(work, 'unused'), log });
      expect([redis.origin, redis.pid, redis.url]).toEqual(['existing', undefined, other.url]);
      await redis.stop();
      expect(await probeRedisPort(other.port)).toEqual({ state: 'redis', loading: false });
    } finally {
      await other.stop();
    }
  });

  it('something else on the port: a clear error naming REDIS_URL and ORCHEX_REDIS_PORT, nothing started', async () => {
    const server = createServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n')).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    try {
      await expect(ensureEmbeddedRedis({ port, dir: join(work, 'taken'), log })).rejects.toThrow(
        new RegExp(`127\\.0\\.0\\.1:${port} is taken by something .*HTTP/1\\.1 400.*REDIS_URL.*ORCHEX_REDIS_PORT`),
      );
    } finally {
      server.close();
    }
  });

  it('one left behind by a killed orchex (kill -9) is adopted and stopped, not mistaken for a foreign Redis', async () => {
    const port = await freePort();
    const dir = join(work, 'orphan');
    // A real orchex-like process starts it, then dies without any chance to stop it.
    const owner: ChildProcess = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { ensureEmbeddedRedis } from './scripts/embedded-redis/ensure-embedded-redis.ts';
         const r = await ensureEmbeddedRedis({ port: ${port}, dir: ${JSON.stringify(dir)}, log: { info() {}, warn() {}, error() {} } });
         console.log(r.pid);
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [line] = (await once(owner.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
    const pid = Number(line.toString().trim());
    owner.kill('SIGKILL');
    await once(owner, 'exit');
    expect(running(pid)).toBe(true);

    const adopted = await ensureEmbeddedRedis({ port, dir, log });
    expect([adopted.origin, adopted.pid]).toEqual(['adopted', pid]);
    await adopted.stop();
    expect(running(pid)).toBe(false);
  });

  it('a server that cannot start (a damaged AOF): the error ends with the lines of redis.log that say why', async () => {
    const dir = join(work, 'damaged');
    mkdirSync(join(dir, 'appendonlydir'), { recursive: true });
    writeFileSync(join(dir, 'appendonlydir/appendonly.aof.manifest'), 'not a manifest\n');
    await expect(ensureEmbeddedRedis({ port: await freePort(), dir, log })).rejects.toThrow(
      /did not start on redis:\/\/127\.0\.0\.1:\d+ \(exit code 1\); see .*redis\.log:\n[\s\S]*Invalid AOF manifest/,
    );
  });
});

describe('findRedisServer', () => {
  it('ORCHEX_REDIS_SERVER first, else redis-server on PATH', async () => {
    await expect(findRedisServer({ serverPath: join(work, 'missing-redis-server') })).rejects.toThrow(
      /ORCHEX_REDIS_SERVER=.*missing-redis-server is not an executable file/,
    );
    const found = await findRedisServer({ env: { PATH: process.env.PATH } });
    expect(found.source).toBe('PATH');
    expect(found.path).toMatch(/redis-server$/);
  });

  it('no redis-server and no internet: redis-memory-server fails, and the error says why and what to do', async () => {
    // redis-memory-server's download address and cache, pointed at a closed loopback port and an empty dir, so the
    // test is offline by construction: this is what a machine without internet sees.
    const saved = { mirror: process.env.REDISMS_DOWNLOAD_MIRROR, dir: process.env.REDISMS_DOWNLOAD_DIR };
    process.env.REDISMS_DOWNLOAD_MIRROR = `http://127.0.0.1:${await freePort()}`;
    process.env.REDISMS_DOWNLOAD_DIR = join(work, 'rms-cache');
    const notes: string[] = [];
    try {
      const err = (await findRedisServer({ env: { PATH: '' }, onBuild: (n) => notes.push(n) }).catch(
        (e) => e,
      )) as Error;
      expect(err).toBeInstanceOf(Error);
      expect(err.message).toMatch(/no redis-server on PATH, and redis-memory-server could not provide one/);
      expect(err.message).toMatch(/cannot work without internet access, make and a C compiler/);
      expect(err.message).toMatch(/apt-get install redis-server.*ORCHEX_REDIS_SERVER.*REDIS_URL/);
      expect(notes[0]).toMatch(/downloading the Redis source/);
    } finally {
      for (const [k, v] of [
        ['REDISMS_DOWNLOAD_MIRROR', saved.mirror],
        ['REDISMS_DOWNLOAD_DIR', saved.dir],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
