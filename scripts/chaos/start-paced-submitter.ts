/** What the client saw while submitting. */
export interface SubmitLog {
  /** Epoch ms of the first submit (time 0 of `seen`). */
  startedAt: number;
  /** Responses by HTTP status; "network" = no response (refused, reset), "timeout" = none within 30 s. */
  byStatus: Record<string, number>;
  /** Tasks (indexes) that got each status at least once. */
  tasksByStatus: Record<string, Set<number>>;
  /** First and last time each status was seen, ms since the first submit. */
  seen: Record<string, { first: number; last: number }>;
  /** Task index → task id, for every submit the API accepted (202, or a 200 idempotent replay of an accepted one). */
  accepted: Map<number, string>;
  /** Of `accepted`, how many the client learnt from a 200 replay: an earlier try was accepted but its answer lost. */
  replayed: number;
  /** Task index → status of a final 4xx (not retried: the request itself was refused). */
  rejected: Map<number, number>;
  /** Task indexes still not accepted when the client gave up. */
  gaveUp: number[];
}

/** How to submit. */
export interface PacedSubmitterOptions {
  /** API base URL. */
  url: string;
  apiKey: string;
  /** Tasks 0 … count-1. */
  count: number;
  /** First tries started per second, from each release(). */
  ratePerSec: number;
  /** Most requests in flight at once. */
  concurrency: number;
  /** Body of task i; must carry an idempotency_key so retries cannot create a second task. */
  body(index: number): Record<string, unknown>;
  /** Epoch ms after which refused submits are no longer retried; undefined while not known yet (faults running). */
  giveUpAt(): number | undefined;
  /** Per-request deadline. Default 30000 ms. */
  requestTimeoutMs?: number;
}

interface Pending {
  index: number;
  dueAt: number;
  /** Tries made so far. */
  tries: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client submitting tasks in the segments its driver releases. */
export interface PacedSubmitter {
  /** Lets the next `n` tasks go (fewer if fewer are left), their first tries paced at the rate from now. */
  release(n: number): void;
  /** Tasks released so far. */
  released(): number;
  /** First tries started so far. */
  started(): number;
  /** Resolves once every task is accepted, refused for good, or given up (unreleased ones count as given up). */
  done: Promise<SubmitLog>;
}

/**
 * POSTs /v1/tasks like a client with a retry policy: 503 (and 429) are retried after Retry-After (1 s without
 * one, capped at 5 s), other 5xx and lost connections with exponential backoff (1, 2, 4, 8 s), always with the
 * same idempotency key — a 500 may well have stored the task. Every response is counted by status, and each
 * task's statuses too. Tasks go out only as the driver releases them, so it can line submits up with its faults.
 */
export function startPacedSubmitter(opts: PacedSubmitterOptions): PacedSubmitter {
  const t0 = Date.now();
  const log: SubmitLog = {
    startedAt: t0,
    byStatus: {},
    tasksByStatus: {},
    seen: {},
    accepted: new Map(),
    replayed: 0,
    rejected: new Map(),
    gaveUp: [],
  };
  const pending: Pending[] = [];
  let released = 0;
  let started = 0;
  let lastDue = 0;
  let inFlight = 0;

  const count = (status: string, index: number) => {
    log.byStatus[status] = (log.byStatus[status] ?? 0) + 1;
    const seenBy = log.tasksByStatus[status] ?? new Set<number>();
    seenBy.add(index);
    log.tasksByStatus[status] = seenBy;
    const at = Date.now() - t0;
    const s = log.seen[status];
    if (s) s.last = at;
    else log.seen[status] = { first: at, last: at };
  };
  // Retries join the queue in due order (binary insertion keeps `pending` sorted).
  const schedule = (item: Pending) => {
    let lo = 0;
    let hi = pending.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((pending[mid] as Pending).dueAt <= item.dueAt) lo = mid + 1;
      else hi = mid;
    }
    pending.splice(lo, 0, item);
  };

  /** One try; returns the delay before the next try, or undefined when the task is settled either way. */
  const attempt = async (index: number, tries: number): Promise<number | undefined> => {
    const backoff = Math.min(1000 * 2 ** (tries - 1), 8000);
    let res: Response;
    try {
      res = await fetch(`${opts.url}/v1/tasks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${opts.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(opts.body(index)),
        signal: AbortSignal.timeout(opts.requestTimeoutMs ?? 30_000),
      });
    } catch (err) {
      count((err as Error).name === 'TimeoutError' ? 'timeout' : 'network', index);
      return backoff;
    }
    count(String(res.status), index);
    if (res.status === 202 || (res.status === 200 && res.headers.get('idempotent-replayed') === 'true')) {
      const { id } = (await res.json()) as { id: string };
      log.accepted.set(index, id);
      if (res.status === 200) log.replayed++;
      return undefined;
    }
    await res.arrayBuffer().catch(() => undefined);
    if (res.status === 503 || res.status === 429) {
      const hint = Number(res.headers.get('retry-after'));
      return Number.isFinite(hint) && hint > 0 ? Math.min(hint * 1000, 5000) : 1000;
    }
    if (res.status >= 500 || res.status === 408) return backoff;
    log.rejected.set(index, res.status);
    return undefined;
  };

  const lane = async () => {
    for (;;) {
      const now = Date.now();
      const giveUpAt = opts.giveUpAt();
      if (giveUpAt !== undefined && now > giveUpAt) {
        log.gaveUp.push(...pending.splice(0).map((p) => p.index));
        for (; released < opts.count; released++) log.gaveUp.push(released);
      }
      const next = pending[0];
      if (!next) {
        // Others' tries may still come back for a retry, and the driver may release more.
        if (inFlight === 0 && released >= opts.count) return;
        await sleep(25);
        continue;
      }
      if (next.dueAt > now) {
        await sleep(Math.min(next.dueAt - now, 25));
        continue;
      }
      pending.shift();
      if (next.tries === 0) started++;
      inFlight++;
      let retryIn: number | undefined;
      try {
        retryIn = await attempt(next.index, next.tries + 1);
      } finally {
        inFlight--;
      }
      if (retryIn !== undefined) schedule({ index: next.index, dueAt: Date.now() + retryIn, tries: next.tries + 1 });
    }
  };
  const done = Promise.all(Array.from({ length: opts.concurrency }, lane)).then(() => {
    log.gaveUp.sort((a, b) => a - b);
    return log;
  });
  return {
    release(n) {
      const base = Math.max(Date.now(), lastDue);
      const upTo = Math.min(opts.count, released + n);
      for (let j = 0; released < upTo; released++, j++) {
        lastDue = base + Math.round((j * 1000) / opts.ratePerSec);
        schedule({ index: released, dueAt: lastDue, tries: 0 });
      }
    },
    released: () => released,
    started: () => started,
    done,
  };
}
