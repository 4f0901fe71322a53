import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { costMicros, makeUsage, type OrchexConfig, parseConfig } from '@orchex/core';
import { createDatabase, type DatabaseHandle, runMigrations } from '@orchex/db';
import { type FakeLlmServer, type FakeLogEntry, fakeProviderEnv, startFakeLlmServer } from '@orchex/providers/fake';
import { queueName, stepJobId } from '@orchex/queue';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type ApiProcess, spawnApi } from '../../test/support/api-process.ts';
import { freePort } from '../../test/support/free-port.ts';
import { type PrivatePostgres, startPrivatePostgres } from '../../test/support/private-postgres.ts';
import { type PrivateRedis, startPrivateRedis } from '../../test/support/private-redis.ts';
import { testConfigSource } from '../../test/support/test-config.ts';
import { spawnWorker, type WorkerProcess } from '../../test/support/worker-process.ts';
import { accountCalls, type KillEvent } from './account-calls.ts';
import type { ChaosOptions } from './chaos-options.ts';
import type { ChaosReport } from './chaos-report.ts';
import { startPacedSubmitter } from './start-paced-submitter.ts';

const API_KEY = 'chaos-client-key-000000001';
const TERMINAL = ['succeeded', 'failed', 'cancelled'];
// Every prompt starts with it, so a failedReason quoting a prompt is recognisable without printing it.
const PROMPT_MARK = 'chaos task';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sleepUntil = (at: number) => sleep(Math.max(0, at - Date.now()));

/**
 * Runs the fault drill of issue 9 on private services and real processes, and returns what it measured (check it
 * with checkInvariants). Everything it starts — Redis, Postgres, the API, workers, fake servers — is stopped in a
 * finally block, and an 'exit' hook kills the child processes if the caller dies first.
 *
 * Tasks are submitted in one segment per fault (see releaseSegment): every fault lands while calls are in flight
 * and tasks keep arriving, and submits continue into the Postgres outage. Each fault waits for the previous
 * recovery (a restarted worker ready, at most 30 s); the report records the load each fault hit.
 */
export async function runChaosScenario(
  opts: ChaosOptions,
  say: (line: string) => void = () => {},
): Promise<ChaosReport> {
  const setupStart = Date.now();
  const runDir = mkdtempSync(join(tmpdir(), 'orchex-chaos-'));
  const runId = randomBytes(3).toString('hex');
  const children = new Set<WorkerProcess | ApiProcess>();
  const killChildren = () => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  };
  // If the caller dies mid-drill (Ctrl-C, an uncaught error), the finally below never runs: kill what we spawned.
  const onExit = () => {
    killChildren();
    if (!opts.keep) rmSync(runDir, { recursive: true, force: true });
  };
  process.on('exit', onExit);

  let redis: PrivateRedis | undefined;
  let postgres: PrivatePostgres | undefined;
  let database: DatabaseHandle | undefined;
  const fakes: FakeLlmServer[] = [];
  const outputs: Array<{ kind: 'api' | 'worker'; output: () => string }> = [];
  let report: ChaosReport | undefined;
  let drillStart = 0;
  // True while the drill runs: see onCrash.
  let supervising = false;
  // Set when the drill ends (or fails): the client stops retrying at once.
  let finished = false;
  try {
    // 1. Private services. Redis's directory is ours; Postgres makes its own (it must be owned by postgres).
    mkdirSync(join(runDir, 'redis'));
    [redis, postgres] = await Promise.all([
      startPrivateRedis({ dir: join(runDir, 'redis') }),
      // Room for the API's, every worker's and our own pools, restarted workers included.
      startPrivatePostgres({ settings: { max_connections: String(40 + 20 * opts.workers) } }),
    ]);
    say(`private Redis ${redis.url} (AOF everysec), private Postgres 127.0.0.1:${postgres.port}, run dir ${runDir}`);
    database = await createDatabase({ url: postgres.url, poolSize: 4 });
    await runMigrations(database);

    // 2. Config: the test models, with limits that never bind (the drill is about faults, not rate limits) and a
    // timeout far above the latency, so no call is retried for a model-side reason.
    const capacity = opts.workers * opts.concurrency;
    const base = testConfigSource();
    const source = testConfigSource({
      orchestrator: { timeout: 60 },
      models: Object.fromEntries(
        Object.keys(base.models as Record<string, unknown>).map((m) => [
          m,
          { rpm: 1_000_000, max_concurrency: capacity },
        ]),
      ),
    });
    const config = parseConfig(source);
    // One fake model server per worker slot, so each provider call is attributed to the process that made it.
    // Every scripted answer reports a different output token count (from 1000 up), so each answer can be matched
    // to the attempt row that recorded it (see accountCalls). Each slot can serve every task of the plan's first
    // model and a tenth of them on each other model; past that the fakes answer with their plain default.
    const primary = config.routing_rules.code?.primary;
    let nextOutput = 1000;
    for (let slot = 0; slot < opts.workers; slot++) {
      const fake = await startFakeLlmServer();
      fake.setDefault('*', { type: 'ok', latencyMs: opts.latencyMs });
      for (const [name, m] of Object.entries(config.models)) {
        const n = name === primary ? opts.tasks : Math.ceil(opts.tasks / 10);
        fake.script(
          m.model_id,
          Array.from({ length: n }, () => ({
            type: 'ok' as const,
            latencyMs: opts.latencyMs,
            usage: { output: nextOutput++ },
          })),
        );
      }
      fakes.push(fake);
    }
    const configPath = join(runDir, 'orchex.json');
    writeFileSync(configPath, JSON.stringify(source));
    const prefix = `chaos-${runId}`;
    const env: Record<string, string> = {
      REDIS_URL: redis.url,
      DATABASE_URL: postgres.url,
      ORCHEX_PREFIX: prefix,
      ORCHEX_CONFIG: configPath,
      ORCHEX_API_KEYS: API_KEY,
      ...(opts.lockMs === undefined ? {} : { ORCHEX_LOCK_MS: String(opts.lockMs) }),
    };
    const slotEnv = (slot: number) => ({ ...env, ...fakeProviderEnv((fakes[slot] as FakeLlmServer).url) });

    // 3. The API and the workers, as real processes.
    // The drill's clock and log; t0 is set when the first submit goes out.
    let t0 = 0;
    const timeline: ChaosReport['timeline'] = [];
    const mark = (event: string) => {
      timeline.push({ atMs: Date.now() - t0, event });
      say(`t+${((Date.now() - t0) / 1000).toFixed(1)} s  ${event}`);
    };
    // During the drill we act as a process supervisor (systemd, Kubernetes) would: a process that exits without
    // being killed by us is a crash — recorded, since it is a fault orchex caused itself — and is started again,
    // so one crash does not hide how the rest of the system copes.
    const planned = new Set<ChildProcess>();
    const crashes: ChaosReport['crashes'] = [];
    const MAX_RESTARTS = 20;
    const onCrash = (name: string, proc: ChildProcess, code: number | null, restart: () => void) => {
      if (!supervising || planned.has(proc)) return;
      const exit = code === null ? `signal ${proc.signalCode}` : `exit code ${code}`;
      crashes.push({ process: name, atMs: Date.now() - t0, exit });
      if (crashes.length > MAX_RESTARTS) {
        mark(`${name} (pid ${proc.pid}) crashed (${exit}); too many crashes, not restarting it`);
        return;
      }
      mark(`${name} (pid ${proc.pid}) crashed (${exit}); restarting it as a supervisor would`);
      restart();
    };

    const apiPort = await freePort();
    const startApi = (): ApiProcess => {
      const a = spawnApi(slotEnv(0), apiPort);
      children.add(a);
      outputs.push({ kind: 'api', output: a.output });
      void a.exited.then((code) => onCrash('API', a.proc, code, () => void startApi()));
      return a;
    };
    const api = startApi();
    const workers: WorkerProcess[] = [];
    const startWorker = (slot: number): WorkerProcess => {
      const w = spawnWorker(slotEnv(slot), ['--concurrency', String(opts.concurrency)]);
      children.add(w);
      outputs.push({ kind: 'worker', output: w.output });
      workers[slot] = w;
      void w.exited.then((code) =>
        onCrash(`worker ${slot + 1}`, w.proc, code, () => {
          const next = startWorker(slot);
          void workerReady(next).then(
            () => mark(`worker ${slot + 1} restarted (pid ${next.proc.pid})`),
            () => {},
          );
        }),
      );
      return w;
    };
    const workerReady = (w: WorkerProcess) =>
      Promise.race([
        w.ready,
        w.exited.then((code) => {
          throw new Error(`worker exited with ${code} before it started:\n${w.output().slice(-2000)}`);
        }),
      ]);
    for (let slot = 0; slot < opts.workers; slot++) startWorker(slot);
    await Promise.all([api.ready, ...workers.map(workerReady)]);
    const setupMs = Date.now() - setupStart;
    say(`API ${api.url} and ${opts.workers} workers ready after ${(setupMs / 1000).toFixed(1)} s; submitting`);

    // 4. The drill: submits and faults run side by side.
    drillStart = Date.now();
    t0 = drillStart;
    supervising = true;
    const kills: KillEvent[] = [];
    let lastRecovery: number | undefined;

    const db = database;
    const query = async <T>(text: string, values: unknown[] = [], maxTries = 20): Promise<T[]> => {
      // The pool may still hold connections from before the Postgres restart: the first use of each one fails.
      for (let tries = 1; ; tries++) {
        try {
          return (await (db as Extract<DatabaseHandle, { kind: 'postgres' }>).pool.query(text, values)).rows as T[];
        } catch (err) {
          if (tries >= maxTries) throw err;
          await sleep(250);
        }
      }
    };
    const submitter = startPacedSubmitter({
      url: api.url,
      apiKey: API_KEY,
      count: opts.tasks,
      ratePerSec: opts.submitRate,
      concurrency: opts.clientConcurrency,
      body: (i) => ({
        prompt: `${PROMPT_MARK} ${i}: name three uses of item ${i}`,
        task_type: 'code',
        idempotency_key: `chaos-${runId}-${i}`,
      }),
      giveUpAt: () => (finished ? 0 : lastRecovery === undefined ? undefined : lastRecovery + opts.submitGiveUpMs),
    });
    const submitting = submitter.done.then((log) => {
      mark(`submits settled: ${log.accepted.size} accepted, ${log.gaveUp.length} given up`);
      return log;
    });

    // Calls the fake servers of `slots` have not answered yet: how much work a fault hits.
    const callsInFlight = (slots: number[]) =>
      slots.reduce((n, i) => n + (fakes[i] as FakeLlmServer).log.filter((e) => e.finishedAt === null).length, 0);
    const allSlots = fakes.map((_, i) => i);
    // A worker that takes longer than this to come back is reported, and the drill moves on.
    const RESTART_WAIT_MS = 30_000;
    // The tasks come in one segment per fault (each worker kill, the Redis kill, the Postgres stop, which gets the
    // rest). A fault waits until half of its segment has gone out and a call is in flight where it strikes, so
    // it always hits a running system, however slowly processes start on a loaded machine; at least half of the
    // last segment arrives while Postgres is down. Each segment waits for the previous recovery.
    const segment = Math.max(1, Math.floor(opts.tasks / (opts.workers + 2)));
    const releaseSegment = async (n: number, where: number[]) => {
      const halfway = submitter.released() + Math.ceil(Math.min(n, opts.tasks - submitter.released()) / 2);
      submitter.release(n);
      while (submitter.started() < halfway) await sleep(20);
      const end = Date.now() + Math.max(5000, 3 * opts.latencyMs);
      while (callsInFlight(where) === 0 && Date.now() < end) await sleep(10);
    };
    const faultLoad: ChaosReport['faultLoad'] = [];
    const faults = (async () => {
      for (let slot = 0; slot < opts.workers; slot++) {
        await releaseSegment(segment, [slot]);
        const victim = workers[slot] as WorkerProcess;
        const inFlight = callsInFlight([slot]);
        planned.add(victim.proc);
        const at = Date.now();
        victim.proc.kill('SIGKILL');
        await victim.exited;
        kills.push({ target: slot, at, exitAt: Date.now() });
        faultLoad.push({ fault: `worker ${slot + 1} kill -9`, callsInFlight: inFlight });
        mark(`worker ${slot + 1} kill -9 (pid ${victim.proc.pid}, ${inFlight} calls in flight); restarting it`);
        const next = startWorker(slot);
        await Promise.race([
          workerReady(next).then(
            () => mark(`worker ${slot + 1} restarted (pid ${next.proc.pid})`),
            (err: Error) => mark(`worker ${slot + 1} failed to restart: ${err.message.split('\n')[0]}`),
          ),
          sleep(RESTART_WAIT_MS),
        ]);
      }
      await releaseSegment(segment, allSlots);
      const r = redis as PrivateRedis;
      const redisInFlight = callsInFlight(allSlots);
      const redisAt = Date.now();
      await r.kill();
      kills.push({ target: 'redis', at: redisAt, exitAt: Date.now() });
      faultLoad.push({ fault: 'Redis kill -9', callsInFlight: redisInFlight });
      mark(`Redis kill -9 (${redisInFlight} calls in flight)`);
      await sleep(opts.redisDownMs);
      await r.restart();
      const redisBack = Date.now();
      mark('Redis restarted from its AOF');
      // The last segment: half of it goes out once Redis is back; Postgres stops once workers call again after
      // the restart, with calls in flight (answers then arrive while it is down: the case of "never pay twice");
      // the other half is released as it stops, so those submits meet the outage.
      const rest = opts.tasks - submitter.released();
      await releaseSegment(Math.ceil(rest / 2), allSlots);
      const resumed = () => fakes.some((f) => f.log.some((e) => e.startedAt > redisBack));
      while (!resumed() && Date.now() < redisBack + RESTART_WAIT_MS) await sleep(50);
      const end = Date.now() + Math.max(5000, 3 * opts.latencyMs);
      while (callsInFlight(allSlots) === 0 && Date.now() < end) await sleep(10);
      const p = postgres as PrivatePostgres;
      const [open] = await query<{ n: number }>(
        `select count(*)::int as n from tasks where status <> all($1::text[])`,
        [TERMINAL],
        3,
      ).catch(() => [{ n: -1 }]);
      const pgInFlight = callsInFlight(allSlots);
      const stillToSend = opts.tasks - submitter.started();
      const stopAt = Date.now();
      faultLoad.push({ fault: 'Postgres stop', callsInFlight: pgInFlight, submitsToCome: stillToSend });
      mark(
        `Postgres stopping (pg_ctl stop -m fast; ${open?.n ?? '?'} tasks in progress, ${pgInFlight} calls in ` +
          `flight, ${stillToSend} tasks not submitted yet)`,
      );
      submitter.release(opts.tasks);
      await p.stop();
      mark('Postgres stopped');
      await sleepUntil(stopAt + opts.pgOutageMs);
      await p.start();
      lastRecovery = Date.now();
      mark('Postgres started: last recovery');
    })();
    // If the fault script fails, the client must not wait for releases that will never come.
    faults.catch(() => {
      finished = true;
    });

    const [submitted] = await Promise.all([submitting, faults]);
    if (lastRecovery === undefined) throw new Error('fault script ended without a recovery');

    // 5. Wait for every accepted task to end, up to the deadline after the last recovery.
    const acceptedIds = [...submitted.accepted.values()];
    const deadline = lastRecovery + opts.endDeadlineMs;
    let lastProgress = 0;
    for (;;) {
      const [row] = await query<{ open: number }>(
        `select count(*)::int as open from tasks where id = any($1::uuid[]) and status <> all($2::text[])`,
        [acceptedIds, TERMINAL],
      );
      const open = row?.open ?? 0;
      if (open === 0) {
        mark(`all ${acceptedIds.length} accepted tasks ended`);
        break;
      }
      if (Date.now() > deadline) {
        mark(`deadline: ${open} accepted tasks have not ended`);
        break;
      }
      if (Date.now() - lastProgress >= 10_000) {
        say(`  … ${open} accepted tasks not ended yet`);
        lastProgress = Date.now();
      }
      await sleep(1000);
    }
    // Calls still in flight (duplicates of ended tasks) get to finish, so the logs hold their outcome.
    await sleep(Math.min(opts.latencyMs + 500, 5000));

    // 6. Measure.
    const byStatus = await query<{ status: string; n: number }>(
      `select status, count(*)::int as n from tasks where id = any($1::uuid[]) group by status order by status`,
      [acceptedIds],
    );
    const unended = await query<{ id: string; current_step: number; plan: string[] }>(
      `select id, current_step, plan from tasks where id = any($1::uuid[]) and status <> all($2::text[])
       order by created_at`,
      [acceptedIds, TERMINAL],
    );
    const [ends] = await query<{ last_end: string | null }>(
      `select (extract(epoch from max(coalesce(finished_at, updated_at))) * 1000)::bigint::text as last_end
       from tasks where id = any($1::uuid[]) and status = any($2::text[])`,
      [acceptedIds, TERMINAL],
    );
    const [counts] = await query<{ total: number; unacked: number }>(
      `select count(*)::int as total, count(*) filter (where not (id = any($1::uuid[])))::int as unacked from tasks`,
      [acceptedIds],
    );
    const [att] = await query<{ succeeded: number; failed: number; cost: string }>(
      `select count(*) filter (where outcome = 'succeeded')::int as succeeded,
              count(*) filter (where outcome = 'failed')::int as failed,
              coalesce(sum(cost_micros), 0)::text as cost
       from attempts`,
    );
    const [twice] = await query<{ n: number }>(
      `select count(*)::int as n from (select task_id from attempts where outcome = 'succeeded'
       group by task_id having count(*) > 1) t`,
    );

    const recorded = await query<{ model: string; input_tokens: number; output_tokens: number; n: number }>(
      `select model, input_tokens, output_tokens, count(*)::int as n from attempts where outcome = 'succeeded'
       group by 1, 2, 3`,
    );
    const calls = accountCalls(
      fakes.map((f) => f.log),
      kills,
      opts.killGraceMs,
      priceFor(config),
      modelNameFor(config),
      recorded.map((r) => ({
        model: r.model,
        inputTokens: r.input_tokens,
        outputTokens: r.output_tokens,
        count: r.n,
      })),
    );
    const queues = await inspectQueues(redis.url, prefix, config, unended);

    report = {
      options: opts,
      durations: { setupMs, drillMs: Date.now() - drillStart, teardownMs: 0 },
      t0,
      timeline,
      faultLoad,
      lastRecoveryAtMs: lastRecovery - t0,
      http: {
        byStatus: submitted.byStatus,
        tasksByStatus: Object.fromEntries(Object.entries(submitted.tasksByStatus).map(([k, v]) => [k, v.size])),
        // The client's clock started a moment after t0; shift its times onto the drill's.
        seen: Object.fromEntries(
          Object.entries(submitted.seen).map(([k, v]) => [
            k,
            { first: v.first + submitted.startedAt - t0, last: v.last + submitted.startedAt - t0 },
          ]),
        ),
        accepted: submitted.accepted.size,
        replayed: submitted.replayed,
        rejected: submitted.rejected.size,
        gaveUp: submitted.gaveUp.length,
      },
      tasks: {
        inDatabase: counts?.total ?? 0,
        notAcknowledged: counts?.unacked ?? 0,
        acceptedByStatus: Object.fromEntries(byStatus.map((r) => [r.status, r.n])),
        unended: unended.length,
        unendedSample: unended.slice(0, 10).map((t) => t.id),
        lastEndedAtMs: ends?.last_end ? Number(ends.last_end) - t0 : null,
      },
      attempts: {
        succeeded: att?.succeeded ?? 0,
        failed: att?.failed ?? 0,
        recordedMicros: Number(att?.cost ?? 0),
        tasksWithTwoSuccesses: twice?.n ?? 0,
      },
      calls,
      queues,
      crashes,
      logs: warnLines(outputs),
    };
    if (opts.keep) {
      mkdirSync(join(runDir, 'logs'));
      for (const [i, o] of outputs.entries()) writeFileSync(join(runDir, 'logs', `${i}-${o.kind}.log`), o.output());
      writeFileSync(join(runDir, 'fake-logs.json'), JSON.stringify(fakes.map((f) => f.log)));
    }
    return report;
  } finally {
    const teardownStart = Date.now();
    supervising = false;
    finished = true;
    killChildren();
    await Promise.all(
      [...children].map((c) => (c.proc.exitCode === null && c.proc.signalCode === null ? c.exited : undefined)),
    );
    process.off('exit', onExit);
    await Promise.allSettled(fakes.map((f) => f.close()));
    await database?.close().catch(() => {});
    if (opts.keep) {
      // Stopped, not removed: the cluster and the AOF stay for a post-mortem.
      postgres?.keepFiles();
      await postgres?.stop().catch(() => {});
      await redis?.kill();
      say(`kept ${runDir} (Postgres data dir ${postgres?.dataDir})`);
    } else {
      await postgres?.destroy().catch((err: Error) => say(`could not remove private Postgres: ${err.message}`));
      await redis?.stop();
      rmSync(runDir, { recursive: true, force: true });
    }
    if (report) report.durations.teardownMs = Date.now() - teardownStart;
  }
}

/** Cost of one delivered answer: orchex's formula on the usage the fake reported, at the model's configured rates. */
function priceFor(config: OrchexConfig): (entry: FakeLogEntry) => number {
  const byId = new Map(Object.values(config.models).map((m) => [m.model_id, m]));
  return (entry) => {
    const model = byId.get(entry.model);
    if (!model) throw new Error(`fake log names model "${entry.model}", which the config does not have`);
    return costMicros(makeUsage({ input: entry.inputTokens ?? 0, output: entry.outputTokens ?? 0 }), model);
  };
}

/** Config name of the model a fake log entry's request named (attempt rows store the name, requests the id). */
function modelNameFor(config: OrchexConfig): (entry: FakeLogEntry) => string {
  const byId = new Map(Object.entries(config.models).map(([name, m]) => [m.model_id, name]));
  return (entry) => byId.get(entry.model) ?? entry.model;
}

/** BullMQ's view at the end: failed jobs (and whether their reasons quote prompts), and the jobs of unended tasks. */
async function inspectQueues(
  redisUrl: string,
  prefix: string,
  config: OrchexConfig,
  unended: Array<{ id: string; current_step: number; plan: string[] }>,
): Promise<ChaosReport['queues']> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queues = new Map(
    Object.keys(config.models).map((m) => [m, new Queue(queueName(m), { connection, prefix })] as const),
  );
  try {
    let failedJobs = 0;
    let failedReasonQuotesPrompt = 0;
    for (const q of queues.values()) {
      const failed = await q.getFailed(0, -1);
      failedJobs += failed.length;
      failedReasonQuotesPrompt += failed.filter((j) => (j.failedReason ?? '').includes(PROMPT_MARK)).length;
    }
    const unendedJobStates: Record<string, number> = {};
    for (const t of unended) {
      const model = t.plan[t.current_step];
      const q = model === undefined ? undefined : queues.get(model);
      const state = q ? await q.getJobState(stepJobId(t.id, t.current_step)) : 'no queue';
      const key = state === 'unknown' ? 'missing' : state;
      unendedJobStates[key] = (unendedJobStates[key] ?? 0) + 1;
    }
    return { failedJobs, failedReasonQuotesPrompt, unendedJobStates };
  } finally {
    await Promise.allSettled([...queues.values()].map((q) => q.close()));
    connection.disconnect();
  }
}

/** Counts warn-and-above JSON log lines by process kind and `msg`; error texts are left out (they may hold data). */
function warnLines(outputs: Array<{ kind: string; output: () => string }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outputs) {
    for (const line of o.output().split('\n')) {
      if (!line.startsWith('{')) continue;
      let entry: { level?: unknown; msg?: unknown };
      try {
        entry = JSON.parse(line) as { level?: unknown; msg?: unknown };
      } catch {
        continue;
      }
      if (typeof entry.level !== 'number' || entry.level < 40) continue;
      const key = `${o.kind}: ${typeof entry.msg === 'string' ? entry.msg : '(no msg)'}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
  }
  return counts;
}
