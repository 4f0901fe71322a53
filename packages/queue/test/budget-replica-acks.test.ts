import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { BudgetLedger, createRedis, type RedisClient, replicaAcks } from '../src/index.ts';

// ORCHEX_REDIS_REPLICA_ACKS on one master with one replica (the same code runs per shard on a cluster): a budget write
// is on the replica when the call returns, and a master left without a replica costs one WAIT timeout, not one per call.

async function redisServer(port: number, ...args: string[]): Promise<ChildProcess> {
  // Its own folder: a replica's full sync writes the master's snapshot (dump.rdb) into the server's directory.
  const dir = mkdtempSync(join(tmpdir(), 'orchex-replica-acks-'));
  const p = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, ...args],
    {
      stdio: 'ignore',
    },
  );
  p.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
  probe.on('error', () => {}); // refused until the server listens
  for (const until = Date.now() + 20_000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
    if ((await probe.ping().catch(() => '')) === 'PONG') break;
  }
  probe.disconnect();
  return p;
}

const kill = (p: ChildProcess | undefined) =>
  p && p.exitCode === null ? new Promise((r) => p.once('exit', r).kill('SIGKILL')) : Promise.resolve();

const waitCalls = async (redis: RedisClient) =>
  Number(/cmdstat_wait:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);

describe('budget writes wait for a replica (ORCHEX_REDIS_REPLICA_ACKS=1)', () => {
  let master: ChildProcess;
  let replica: ChildProcess | undefined;
  let redis: RedisClient;
  let onReplica: Redis;
  beforeAll(async () => {
    const [mp, rp] = [await freePort(), await freePort()];
    master = await redisServer(mp);
    replica = await redisServer(rp, '--replicaof', '127.0.0.1', String(mp));
    redis = createRedis(`redis://127.0.0.1:${mp}`, 'acks-test');
    onReplica = new Redis(rp, '127.0.0.1');
    onReplica.on('error', () => {}); // the second test kills the replica
    for (const until = Date.now() + 20_000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
      // The replica is usable once its first sync is done (link up) and the master sees it online.
      const [m, r] = await Promise.all([redis.info('replication'), onReplica.info('replication')]);
      if (/slave0:.*state=online/.test(m) && r.includes('master_link_status:up')) break;
    }
  }, 60_000);
  afterAll(async () => {
    redis?.disconnect();
    onReplica?.disconnect();
    await kill(replica);
    await kill(master);
  });

  it('each hold is on the replica by the time reserve returns', async () => {
    const ledger = new BudgetLedger(redis, { prefix: 'acks', replicaAcks: replicaAcks(1) });
    const day = await ledger.today();
    const { reserved } = ledger.keys(day);
    const before = await waitCalls(redis);
    for (let i = 1; i <= 50; i++) {
      const r = await ledger.reserve({
        reservationId: `r${i}`,
        amountMicros: 100,
        ttlMs: 60_000,
        day,
        limitMicros: 1e9,
      });
      expect(r.ok).toBe(true);
      // Read from the replica at once, no waiting: WAIT made the master hold the reply until the replica had it.
      expect(Number(await onReplica.get(reserved))).toBe(i * 100);
    }
    // One WAIT per write, each answered by the replica (none timed out, or the next calls would have skipped it).
    expect((await waitCalls(redis)) - before).toBe(50);
  });

  it('with the replica gone, one WAIT times out and the next calls skip it for a while', async () => {
    await kill(replica);
    replica = undefined;
    const ledger = new BudgetLedger(redis, { prefix: 'acks2', replicaAcks: replicaAcks(1) });
    const day = await ledger.today();
    const before = await waitCalls(redis);
    for (let i = 0; i < 20; i++) {
      const r = await ledger.reserve({
        reservationId: `s${i}`,
        amountMicros: 100,
        ttlMs: 60_000,
        day,
        limitMicros: 1e9,
      });
      expect(r.ok).toBe(true);
    }
    expect(await waitCalls(redis)).toBe(before + 1);
    expect((await ledger.state({ day })).reservedMicros).toBe(2000);
  });
});
