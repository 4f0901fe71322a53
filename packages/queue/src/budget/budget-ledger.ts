import { type LuaCommand, luaCommand, type RedisClient, type ReplicaAcks } from '../limits/lua-command.ts';
import { type BudgetKeys, budgetKeys, budgetLimitKey } from './budget-keys.ts';
import { RELEASE_LUA, RESERVE_LUA, SETTLE_LUA, STATE_LUA } from './budget-scripts.ts';

/** How long a day's keys stay after their last write: long enough for calls straddling midnight to settle. */
export const KEEP_MS = 3 * 24 * 3600 * 1000;

const DAY_MS = 24 * 3600 * 1000;
/** How often today() measures Redis's clock again. */
const CLOCK_CHECK_MS = 60_000;
/** Within this much of a UTC midnight, today() asks Redis instead of trusting the measured offset. */
const MIDNIGHT_GUARD_MS = 5_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Options of {@link BudgetLedger}. */
export interface BudgetLedgerOptions {
  /** Key prefix. Default `orchex`. */
  prefix?: string;
  /** Daily limit (micro-dollars) while none was set at runtime: the config's `max_daily_cost`. Default none. */
  defaultLimitMicros?: number | null;
  /** Spend (micro-dollars) whose first crossing each day is reported once: `alert_threshold`. Default none. */
  alertMicros?: number;
  /**
   * A day's settled spend from Postgres, the authoritative ledger. When set, a day whose Redis counter is missing
   * (Redis restarted without persistence) is rebuilt from it before any reserve/settle/state. Default: start at 0.
   */
  loadSpent?: (day: string) => Promise<number>;
  /**
   * Where the runtime limit (`PUT /v1/budget`) is kept for good: Postgres. Redis only caches it, so a Redis that lost
   * its data never falls back to "no limit". Default: Redis alone.
   */
  limitStore?: LimitStore;
  /**
   * Redis replicas each reserve/settle/release waits for (WAIT), so a failover that promotes a replica cannot lose
   * a hold or a settled cost and let the day's limit be passed. Default none (no replicas, or one Redis).
   */
  replicaAcks?: ReplicaAcks;
}

/** The authoritative home of the runtime daily limit: micro-dollars, `null` = no limit, undefined = none set. */
export interface LimitStore {
  load(): Promise<number | null | undefined>;
  save(limitMicros: number | null | undefined): Promise<void>;
}

// How the cached runtime limit is written in Redis: micro-dollars, "none" (no limit) or "default" (config's).
const NO_LIMIT = 'none';
const CONFIG_DEFAULT = 'default';
const encodeLimit = (limit: number | null | undefined) =>
  limit === undefined ? CONFIG_DEFAULT : limit === null ? NO_LIMIT : String(micros(limit, 'limitMicros'));

/** Input of {@link BudgetLedger.reserve}. */
export interface ReserveInput {
  /** Unique per attempt (e.g. `taskId.step.attempt`); reserving it again is a no-op that refreshes its ttl. */
  reservationId: string;
  /** Worst-case cost of the attempt. */
  amountMicros: number;
  /** Daily limit; `null` = none. Default {@link BudgetLedger.getLimit}. */
  limitMicros?: number | null;
  /** How long the reservation lives unless settled or released (longer than the call's timeout). */
  ttlMs: number;
  /** UTC day `YYYY-MM-DD`. Default today by Redis's clock. */
  day?: string;
}

/** Outcome of {@link BudgetLedger.reserve}. */
export type ReserveResult =
  | { ok: true; day: string; spentMicros: number; reservedMicros: number; alertCrossed: boolean }
  | { ok: false; day: string; spentMicros: number; reservedMicros: number; limitMicros: number; alertCrossed: boolean };

/** Outcome of {@link BudgetLedger.settle}. */
export interface SettleResult {
  /** False when this id was already settled (remembered an hour past its hold; nothing was added). */
  applied: boolean;
  day: string;
  spentMicros: number;
  reservedMicros: number;
  /** True for exactly one call per day: the first to see spent ≥ `alertMicros`. */
  alertCrossed: boolean;
}

/** A day's budget, for `GET /v1/budget` and the dashboard. */
export interface BudgetState {
  day: string;
  spentMicros: number;
  reservedMicros: number;
  /** `null` = no limit. */
  limitMicros: number | null;
  /** Whether today's spend crossed the alert threshold (the once-a-day alert fired). */
  alerted: boolean;
  /** limit − spent − reserved, never below 0; `null` = no limit. */
  remainingMicros: number | null;
}

/** Where a call lands: pass the `day` that reserve returned, so a call straddling midnight settles where it began. */
export interface DayOption {
  /** UTC day `YYYY-MM-DD`. Default today by Redis's clock. */
  day?: string;
}

type Counts = [number, number, number, number];
/** status, spent, reserved, alertCrossed, the limit applied (-1 = none). */
type ReserveReply = [number, number, number, number, number];

/**
 * The daily budget across every worker: reservations of worst-case cost before a call, settled to the actual cost
 * after, each one Lua script so concurrent reservations can never overspend. Days are UTC by Redis's clock.
 */
export class BudgetLedger {
  readonly prefix: string;
  /** Six day keys, and on one Redis the runtime limit's key as a 7th (see reservePart). */
  private readonly reserveLua: LuaCommand<ReserveReply>;
  /** On a Redis Cluster the runtime limit's key is in another slot than a day's keys: it is read before a script. */
  readonly onCluster: boolean;
  private readonly settleLua: LuaCommand<Counts>;
  private readonly releaseLua: LuaCommand<number>;
  private readonly stateLua: LuaCommand<[number, number, number]>;
  private readonly loading = new Map<string, Promise<boolean>>();
  /** Redis's clock minus this host's, as last measured (see today()). */
  private clock: { offsetMs: number; measuredAt: number } | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: BudgetLedgerOptions = {},
  ) {
    this.prefix = options.prefix ?? 'orchex';
    if (options.alertMicros !== undefined) micros(options.alertMicros, 'alertMicros');
    if (options.defaultLimitMicros != null) micros(options.defaultLimitMicros, 'defaultLimitMicros');
    const acks = options.replicaAcks;
    this.reserveLua = luaCommand(redis, 'orchexBudgetReserve', RESERVE_LUA, acks);
    this.onCluster = (redis as { isCluster?: boolean }).isCluster === true;
    this.settleLua = luaCommand(redis, 'orchexBudgetSettle', SETTLE_LUA, acks);
    this.releaseLua = luaCommand(redis, 'orchexBudgetRelease', RELEASE_LUA, acks);
    this.stateLua = luaCommand(redis, 'orchexBudgetState', STATE_LUA);
  }

  /** What each write waits for in replication (see BudgetLedgerOptions.replicaAcks). */
  get replicaAcks(): ReplicaAcks | undefined {
    return this.options.replicaAcks;
  }

  /**
   * Today's UTC day by Redis's clock (hosts' clocks may disagree around midnight). Redis's offset from this host's
   * clock is measured once a minute, so a reservation costs no TIME round trip — except within a few seconds of
   * midnight, where the offset's error could name the wrong day and Redis is asked.
   */
  async today(): Promise<string> {
    const now = Date.now();
    if (this.clock && now - this.clock.measuredAt < CLOCK_CHECK_MS) {
      const redisNow = now + this.clock.offsetMs;
      const intoDay = redisNow % DAY_MS;
      if (intoDay > MIDNIGHT_GUARD_MS && intoDay < DAY_MS - MIDNIGHT_GUARD_MS) return isoDay(redisNow);
    }
    const sent = Date.now();
    const [seconds, micros] = await this.redis.time();
    const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const received = Date.now();
    this.clock = { offsetMs: redisNow - (sent + received) / 2, measuredAt: received };
    return isoDay(redisNow);
  }

  /** Keys of a day (all under the hash tag `{day}`). */
  keys(day: string): BudgetKeys {
    return budgetKeys(this.prefix, day);
  }

  /** Holds `amountMicros` when spent + reserved + amount ≤ limit, after freeing expired reservations. */
  async reserve(input: ReserveInput): Promise<ReserveResult> {
    const amount = micros(input.amountMicros, 'amountMicros');
    const ttlMs = micros(input.ttlMs, 'ttlMs');
    if (ttlMs <= 0) throw new RangeError('ttlMs must be positive');
    // On one Redis the script reads the runtime limit itself (one round trip); on a cluster that key lives in
    // another slot than the day's, so it is read first. A limit not cached in Redis is reloaded by getLimit().
    const readInScript = input.limitMicros === undefined && !this.onCluster;
    const [day, given] = await Promise.all([
      this.dayOf(input),
      input.limitMicros !== undefined || readInScript ? input.limitMicros : this.getLimit(),
    ]);
    const call = (limit: number | null | undefined) =>
      this.run(day, () => {
        const part = this.reservePart(day, limit);
        return this.reserveLua(part.keys, [checkedId(input.reservationId), amount, ttlMs, KEEP_MS, ...part.args]);
      });
    let reply = await call(readInScript ? undefined : given);
    if (reply[0] === -2) reply = await call(await this.getLimit());
    const [status, spentMicros, reservedMicros, alert, shown] = reply;
    const alertCrossed = alert === 1;
    if (status === 1) return { ok: true, day, spentMicros, reservedMicros, alertCrossed };
    return { ok: false, day, spentMicros, reservedMicros, limitMicros: Math.max(0, shown), alertCrossed };
  }

  /** Replaces the reservation with the actual cost. Idempotent per id and day. */
  async settle(reservationId: string, actualMicros: number, options: DayOption = {}): Promise<SettleResult> {
    const actual = micros(actualMicros, 'actualMicros');
    const day = await this.dayOf(options);
    const part = this.settlePart(day);
    const [status, spentMicros, reservedMicros, alert] = await this.run(day, () =>
      this.settleLua(part.keys, [checkedId(reservationId), actual, KEEP_MS, ...part.args]),
    );
    return { applied: status === 1, day, spentMicros, reservedMicros, alertCrossed: alert === 1 };
  }

  /** Drops a reservation without spending (the call failed before any cost). True when one was live. */
  async release(reservationId: string, options: DayOption = {}): Promise<boolean> {
    const day = await this.dayOf(options);
    return (await this.releaseLua(this.keyList(day), [checkedId(reservationId)])) === 1;
  }

  /** A day's spent, reserved (live reservations only), limit and remaining. */
  async state(options: DayOption = {}): Promise<BudgetState> {
    const [day, limitMicros] = await Promise.all([this.dayOf(options), this.getLimit()]);
    const [, spentMicros, reservedMicros] = await this.run(day, () => this.stateLua(this.keyList(day), [this.strict]));
    const remainingMicros = limitMicros === null ? null : Math.max(0, limitMicros - spentMicros - reservedMicros);
    const alerted = (await this.redis.exists(this.keys(day).alerted)) === 1;
    return { day, spentMicros, reservedMicros, limitMicros, remainingMicros, alerted };
  }

  /**
   * Sets the daily limit for every process (`null` = no limit), overriding the config's default: first where it is
   * kept for good (the limit store), then in Redis, where every reservation reads it.
   */
  async setLimit(limitMicros: number | null): Promise<void> {
    const encoded = encodeLimit(limitMicros);
    await this.options.limitStore?.save(limitMicros);
    await this.redis.set(budgetLimitKey(this.prefix), encoded);
  }

  /** Drops the runtime limit: the config's `defaultLimitMicros` applies again. */
  async clearLimit(): Promise<void> {
    await this.options.limitStore?.save(undefined);
    await this.redis.set(budgetLimitKey(this.prefix), CONFIG_DEFAULT);
  }

  /**
   * The daily limit in force: the runtime one, else the config's default; `null` = no limit. A Redis without the
   * cached value (restarted, flushed) reloads it from the limit store before answering.
   */
  async getLimit(): Promise<number | null> {
    const key = budgetLimitKey(this.prefix);
    let stored = await this.redis.get(key);
    if (stored === null && this.options.limitStore) {
      // SET NX: a value that a concurrent PUT wrote meanwhile wins over this reload.
      await this.redis.set(key, encodeLimit(await this.options.limitStore.load()), 'NX');
      stored = await this.redis.get(key);
    }
    if (stored === null || stored === CONFIG_DEFAULT) return this.options.defaultLimitMicros ?? null;
    return stored === NO_LIMIT ? null : Number(stored);
  }

  /**
   * Sets a day's spent counter from Postgres only if it is missing (SET NX: a counter already there, or one that
   * another process rebuilt meanwhile, wins). True when this call set it.
   */
  async ensureLoaded(day: string, loadSpentFromDb: () => Promise<number>): Promise<boolean> {
    const { spent } = budgetKeys(this.prefix, day);
    if ((await this.redis.exists(spent)) === 1) return false;
    const value = micros(await loadSpentFromDb(), 'loaded spent');
    return (await this.redis.set(spent, value, 'PX', KEEP_MS, 'NX')) === 'OK';
  }

  private get strict(): string {
    return this.options.loadSpent ? '1' : '0';
  }

  /** Runs a script; when it reports the day's counter missing, rebuilds it once (one load per day per process). */
  private async run<T extends number[]>(day: string, call: () => Promise<T>): Promise<T> {
    const first = await call();
    if (first[0] !== -1 || !this.options.loadSpent) return first;
    await this.reload(day);
    const second = await call();
    if (second[0] === -1) throw new Error(`budget counter for ${day} is still missing after loading it`);
    return second;
  }

  /**
   * Rebuilds a day's missing spent counter from Postgres (one load at a time per day and process), after a script
   * answered -1. Without a loader there is nothing to rebuild from.
   */
  async reload(day: string): Promise<void> {
    const load = this.options.loadSpent;
    if (!load) return;
    let pending = this.loading.get(day);
    if (!pending) {
      pending = this.ensureLoaded(day, () => load(day)).finally(() => this.loading.delete(day));
      this.loading.set(day, pending);
    }
    await pending;
  }

  /**
   * This ledger's part of a reserve script (its own, or KeyBudgets' pair): its day keys, then on a single Redis its
   * limit key, and its ARGV — limit, alert, strict, readLimit, defaultLimit. `limit` undefined = read from the limit
   * key in the script.
   */
  reservePart(day: string, limit: number | null | undefined): { keys: string[]; args: Array<string | number> } {
    if (limit != null) micros(limit, 'limitMicros');
    if (limit === undefined && this.onCluster) throw new Error('on a cluster the limit is read before the script');
    return {
      keys: this.onCluster ? this.keyList(day) : [...this.keyList(day), budgetLimitKey(this.prefix)],
      args: [
        limit ?? '',
        this.options.alertMicros ?? '',
        this.strict,
        limit === undefined ? '1' : '0',
        this.options.defaultLimitMicros ?? '',
      ],
    };
  }

  /** This ledger's day keys and ARGV (alert, strict) in a settle script (its own or a pair's) or a pair release. */
  settlePart(day: string): { keys: string[]; args: Array<string | number> } {
    return { keys: this.keyList(day), args: [this.options.alertMicros ?? '', this.strict] };
  }

  private async dayOf(options: DayOption): Promise<string> {
    return options.day ?? (await this.today());
  }

  private keyList(day: string): string[] {
    const k = budgetKeys(this.prefix, day);
    return [k.spent, k.reserved, k.amounts, k.expiry, k.settled, k.alerted];
  }
}

/** A whole, non-negative amount (micro-dollars or ms), or a RangeError naming it. */
export function micros(n: number, name: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, got ${n}`);
  return n;
}

/** A non-empty reservation id, or a RangeError. */
export function checkedId(reservationId: string): string {
  if (reservationId.length === 0) throw new RangeError('reservationId must not be empty');
  return reservationId;
}
