import { readdirSync, readFileSync } from 'node:fs';
import type { RedisClient } from '@orchex/queue';
import { cpuSeconds } from './worker-process.ts';

/** CPU milliseconds per task of each part of the machine over one timed round, and how busy the machine was. */
export interface CpuSplit {
  worker: number;
  /** This process: the API (orchex's side only), the fake model server and the driver. */
  bench: number;
  redis: number;
  postgres: number;
  /** Every core's busy time, whoever spent it (the parts above, the kernel, anything else running). */
  all: number;
  /** Share of the machine's cores that were busy, 0–1. */
  busy: number;
}

/** Starts measuring; the function it returns ends the round of `tasks` tasks and divides by them. */
export async function startCpuSplit(
  workerPid: number,
  redis: RedisClient,
): Promise<(tasks: number) => Promise<CpuSplit>> {
  const start = { worker: cpuSeconds(workerPid), bench: ownCpu(), redis: await redisCpu(redis), pg: postgresCpu() };
  const machine = machineTicks();
  return async (tasks) => {
    const end = { worker: cpuSeconds(workerPid), bench: ownCpu(), redis: await redisCpu(redis), pg: postgresCpu() };
    const [total, idle] = machineTicks().map((t, i) => t - (machine[i] ?? 0)) as [number, number];
    const perTask = (s: number) => (s * 1000) / tasks;
    return {
      worker: perTask(end.worker - start.worker),
      bench: perTask(end.bench - start.bench),
      redis: perTask(end.redis - start.redis),
      // A Postgres process that ended during the round (an autovacuum worker, a closed connection) takes its CPU
      // out of the sum: never below 0.
      postgres: Math.max(0, perTask(end.pg - start.pg)),
      all: perTask((total - idle) / 100),
      busy: 1 - idle / total,
    };
  };
}

const ownCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function redisCpu(redis: RedisClient): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(info.match(new RegExp(`${name}:([\\d.]+)`))?.[1] ?? 0);
  return field('used_cpu_sys') + field('used_cpu_user');
}

/** CPU seconds of every Postgres process on this machine (the benches' databases are the only busy ones). */
function postgresCpu(): number {
  let seconds = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') seconds += cpuSeconds(Number(pid));
    } catch {
      // the process ended meanwhile
    }
  }
  return seconds;
}

/** [all ticks, idle ticks] over every core, from /proc/stat (idle includes iowait). */
function machineTicks(): [number, number] {
  const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').split(/\s+/).slice(1).map(Number);
  return [cpu.reduce((a, b) => a + b, 0), (cpu[3] ?? 0) + (cpu[4] ?? 0)];
}
