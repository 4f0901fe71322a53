import { randomUUID } from 'node:crypto';
import { type LimitKeys, limitKeys } from './limit-keys.ts';
import { ACQUIRE_LUA, EXTEND_LUA, IN_FLIGHT_LUA, RELEASE_LUA, STATE_LUA } from './limit-scripts.ts';
import { type LuaCommand, luaCommand, type RedisClient } from './lua-command.ts';
import type { ModelLimits } from './model-limits.ts';

/** Which limit denied an acquisition. */
export type LimitReason = 'rpm' | 'concurrency' | 'tpm';

/** Options of {@link ModelLimiter}. */
export interface ModelLimiterOptions {
  /** Key prefix. Default `orchex`. */
  prefix?: string;
  /** Length of the rpm/tpm window in ms. Default 60000 (providers count per minute). */
  windowMs?: number;
  /**
   * Extra ms an acquisition stays counted beyond `windowMs`, absorbing the delay between acquiring and the request
   * reaching the provider (event-loop lag under load, connection setup, network), so the provider's own window
   * never sees more than the limit. Default 1000 (costs 1.6% of a 60 s window's rate).
   */
  marginMs?: number;
  /** Longest `retryInMs` when only concurrency is full: slots usually free long before leases expire. Default 100. */
  concurrencyPollMs?: number;
}

/** Options of one {@link ModelLimiter.acquire}. */
export interface AcquireOptions {
  /** Tokens reserved against tpm until the call settles (input + expected output). */
  estimatedTokens: number;
  /** How long the slot is held without a heartbeat ({@link ModelLimiter.extend}); a dead worker's slot frees then. */
  leaseMs: number;
  /** Who holds the slot (e.g. `host:pid:jobId`), shown in {@link ModelLimiter.windowState}. */
  holder: string;
}

/** Outcome of {@link ModelLimiter.acquire}: a lease, or how long to wait before the call could fit. */
export type AcquireResult =
  | { ok: true; leaseId: string; acquiredAtMs: number }
  | { ok: false; retryInMs: number; reason: LimitReason };

/** A slot operation's keys and ARGV, to run inside another script (see ModelLimiter.acquirePart). */
export interface SlotPart {
  keys: string[];
  args: Array<string | number>;
}

/** Outcome of {@link ModelLimiter.release}. */
export interface ReleaseResult {
  /** False when the lease was already released or had expired (its slot was reclaimed). */
  released: boolean;
  /** True when the tpm reservation was replaced by the actual tokens (it was still in the window). */
  settled: boolean;
}

/** One live lease. */
export interface LeaseInfo {
  leaseId: string;
  holder: string;
  expiresAtMs: number;
}

/** A model's window right now, by Redis's clock, for dashboards and benchmarks. */
export interface WindowState {
  nowMs: number;
  /** windowMs + marginMs: how long an acquisition counts. */
  spanMs: number;
  /** Acquisitions in the window (what rpm is checked against). */
  requests: number;
  /** Tokens reserved or settled in the window (what tpm is checked against). */
  tokens: number;
  /** Live leases (what maxConcurrency is checked against). */
  inFlight: number;
  leases: LeaseInfo[];
}

/**
 * rpm, concurrency and tpm of each model, held in Redis so they hold across every worker on every host. Each
 * operation is one Lua script on the model's keys (one hash tag), timed by Redis's clock only.
 */
export class ModelLimiter {
  readonly prefix: string;
  readonly windowMs: number;
  readonly marginMs: number;
  readonly concurrencyPollMs: number;
  private readonly acquireLua: LuaCommand<[number, number, string?]>;
  private readonly releaseLua: LuaCommand<[number, number]>;
  private readonly extendLua: LuaCommand<number>;
  private readonly stateLua: LuaCommand<[number, number, number, string[]]>;
  private readonly inFlightLua: LuaCommand<number>;

  constructor(redis: RedisClient, options: ModelLimiterOptions = {}) {
    this.prefix = options.prefix ?? 'orchex';
    this.windowMs = positiveInt(options.windowMs ?? 60_000, 'windowMs');
    this.marginMs = nonNegativeInt(options.marginMs ?? 1000, 'marginMs');
    this.concurrencyPollMs = positiveInt(options.concurrencyPollMs ?? 100, 'concurrencyPollMs');
    this.acquireLua = luaCommand(redis, 'orchexLimitsAcquire', ACQUIRE_LUA);
    this.releaseLua = luaCommand(redis, 'orchexLimitsRelease', RELEASE_LUA);
    this.extendLua = luaCommand(redis, 'orchexLimitsExtend', EXTEND_LUA);
    this.stateLua = luaCommand(redis, 'orchexLimitsState', STATE_LUA);
    this.inFlightLua = luaCommand(redis, 'orchexLimitsInFlight', IN_FLIGHT_LUA);
  }

  /** Keys of a model (all under the hash tag `{model}`). */
  keys(model: string): LimitKeys {
    return limitKeys(this.prefix, model);
  }

  /**
   * Takes a slot when rpm, concurrency and tpm all fit; records nothing otherwise. A request estimated above the
   * whole tpm passes when the window holds no tokens (else it could never run), and then fills the window alone.
   */
  async acquire(model: string, limits: ModelLimits, options: AcquireOptions): Promise<AcquireResult> {
    const part = this.acquirePart(model, limits, options);
    return this.acquired(part.leaseId, await this.acquireLua(part.keys, part.args));
  }

  /**
   * An acquisition's keys and ARGV, for a script that takes the slot together with something else in the same call
   * (KeyBudgets.reserveWithSlot: one Redis only — the slot's keys are in the model's slot, a cluster's budget in the
   * day's). `acquired` reads its reply.
   */
  acquirePart(model: string, limits: ModelLimits, options: AcquireOptions): SlotPart & { leaseId: string } {
    const leaseId = randomUUID();
    const args = [
      leaseId,
      options.holder,
      positiveInt(limits.rpm, 'rpm'),
      positiveInt(limits.maxConcurrency, 'maxConcurrency'),
      limits.tpm === undefined ? 0 : positiveInt(limits.tpm, 'tpm'),
      nonNegativeInt(options.estimatedTokens, 'estimatedTokens'),
      positiveInt(options.leaseMs, 'leaseMs'),
      this.windowMs + this.marginMs,
      this.concurrencyPollMs,
    ];
    return { leaseId, keys: this.keyList(model), args };
  }

  /** An acquisition's outcome from its script's reply {granted, acquiredAtMs | retryInMs, reason}. */
  acquired(leaseId: string, [ok, value, reason]: [number, number, string?]): AcquireResult {
    if (ok === 1) return { ok: true, leaseId, acquiredAtMs: value };
    return { ok: false, retryInMs: Math.max(1, value), reason: reason as LimitReason };
  }

  /**
   * Frees the slot; with `actualTokens`, settles the tpm reservation to what the call used. The rpm entry stays (a
   * started request counts). Idempotent.
   */
  async release(model: string, leaseId: string, options: { actualTokens?: number } = {}): Promise<ReleaseResult> {
    const part = this.releasePart(model, leaseId, options);
    const [released, settled] = await this.releaseLua(part.keys, part.args);
    return { released: released === 1, settled: settled === 1 };
  }

  /** A release's keys and ARGV, for a script that gives the slot back together with something else (see acquirePart). */
  releasePart(model: string, leaseId: string, options: { actualTokens?: number } = {}): SlotPart {
    const actual = options.actualTokens === undefined ? '' : nonNegativeInt(options.actualTokens, 'actualTokens');
    return { keys: this.keyList(model), args: [leaseId, actual] };
  }

  /** Heartbeat for long calls: the lease now expires `leaseMs` from now. False when the lease was already lost. */
  async extend(model: string, leaseId: string, leaseMs: number): Promise<boolean> {
    return (await this.extendLua(this.keyList(model), [leaseId, positiveInt(leaseMs, 'leaseMs')])) === 1;
  }

  /** Live leases of a model. */
  async inFlight(model: string): Promise<number> {
    return this.inFlightLua(this.keyList(model), []);
  }

  /** Snapshot of a model's window and leases. */
  async windowState(model: string): Promise<WindowState> {
    const spanMs = this.windowMs + this.marginMs;
    const [nowMs, requests, tokens, flat] = await this.stateLua(this.keyList(model), [spanMs]);
    const leases: LeaseInfo[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      leases.push({ leaseId: flat[i] ?? '', holder: flat[i + 1] ?? '', expiresAtMs: Number(flat[i + 2]) });
    }
    return { nowMs, spanMs, requests, tokens, inFlight: leases.length, leases };
  }

  private keyList(model: string): string[] {
    const k = limitKeys(this.prefix, model);
    return [k.window, k.tokens, k.leases, k.holders];
  }
}

function positiveInt(n: number, name: string): number {
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`${name} must be a positive integer, got ${n}`);
  return n;
}

function nonNegativeInt(n: number, name: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, got ${n}`);
  return n;
}
