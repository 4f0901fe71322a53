import { type Db, getSetting, putSetting, spentOnDay } from '@orchex/db';
import { type LuaCommand, luaCommand, type RedisClient } from '../limits/lua-command.ts';
import type { SlotPart } from '../limits/model-limiter.ts';
import {
  type BudgetLedger,
  type BudgetState,
  checkedId,
  KEEP_MS,
  BudgetLedger as Ledger,
  micros,
} from './budget-ledger.ts';
import {
  RELEASE_PAIR_LUA,
  RESERVE_PAIR_LUA,
  RESERVE_WITH_SLOT_LUA,
  SETTLE_PAIR_LUA,
  SETTLE_WITH_SLOT_LUA,
} from './budget-scripts.ts';

/** A key's own daily limits: the admin's cap and the key's own (lower) choice; micro-dollars, null = none. */
export interface KeyLimits {
  admin: number | null;
  own: number | null;
}

/** The settings row of one key's limits. */
const settingOf = (keyId: string) => `budget.key.${keyId}`;

/** The limit in force for a key: the lower of the admin's cap and its own; null = no limit of its own. */
export const effectiveLimit = (l: KeyLimits): number | null =>
  l.admin === null ? l.own : l.own === null ? l.admin : Math.min(l.admin, l.own);

/** Outcome of a reserve across both budgets: refused by the key's budget or the global one, with what was left. */
export type KeyedReserveResult =
  | { ok: true; day: string; alertCrossed: boolean }
  | {
      ok: false;
      day: string;
      scope: 'key' | 'global';
      spentMicros: number;
      reservedMicros: number;
      limitMicros: number;
    };

/** What a hold is for: its id (task.step.attempt), the worst case it holds, and how long it lives without a settle. */
export interface HoldInput {
  reservationId: string;
  amountMicros: number;
  ttlMs: number;
}

/** Outcome of a settle across both budgets, with the global ledger's totals. */
export interface KeyedSettleResult {
  applied: boolean;
  day: string;
  spentMicros: number;
  reservedMicros: number;
  alertCrossed: boolean;
}

/** Which ledger of a pair answered: 1 the key's, 2 the global one. */
type Which = 1 | 2;
/** status, spent, reserved, alertCrossed, limit (-1 = none), which (absent on a plain success). */
type PairReserveReply = [number, number, number, number, number, Which?];
/** status, spent, reserved, alertCrossed, which. */
type PairSettleReply = [number, number, number, number, Which];
/**
 * Calls of a pair script at most: each ledger may answer -1 (a counter to rebuild) and -2 (a limit to reload) once
 * — a fresh day on a fresh Redis — before it answers for good.
 */
const PAIR_TRIES = 5;

/**
 * The daily budget of every key beside the global one. A call holds its worst case in both or in neither, settles
 * both and gives both back, each in ONE script over both ledgers' keys (all under the day's hash tag, so one slot
 * even on a cluster): neither is ever overspent under any concurrency, and no reservation is ever refused for a hold
 * that is about to be given back. Each key's spend is rebuilt from Postgres's rollup, and its limits kept in
 * `settings`, like the global ones.
 */
export class KeyBudgets {
  private readonly ledgers = new Map<string, BudgetLedger>();
  private readonly reservePair: LuaCommand<PairReserveReply>;
  private readonly settlePair: LuaCommand<PairSettleReply>;
  private readonly releasePair: LuaCommand<number>;
  private readonly reserveSlot: LuaCommand<[number, number, number, number, number, number, number, number, string]>;
  private readonly settleSlot: LuaCommand<PairSettleReply>;

  constructor(
    readonly global: BudgetLedger,
    private readonly redis: RedisClient,
    private readonly db: Db,
    private readonly prefix: string,
  ) {
    // The key count differs (with the limit keys or without): each call sends as many as it has.
    const acks = global.replicaAcks;
    this.reservePair = luaCommand(redis, 'orchexBudgetReservePair', RESERVE_PAIR_LUA, acks);
    this.settlePair = luaCommand(redis, 'orchexBudgetSettlePair', SETTLE_PAIR_LUA, acks);
    this.releasePair = luaCommand(redis, 'orchexBudgetReleasePair', RELEASE_PAIR_LUA, acks);
    this.reserveSlot = luaCommand(redis, 'orchexBudgetReserveWithSlot', RESERVE_WITH_SLOT_LUA, acks);
    this.settleSlot = luaCommand(redis, 'orchexBudgetSettleWithSlot', SETTLE_WITH_SLOT_LUA, acks);
  }

  /** The ledger of one API key (its own prefix, its own spend and limit). */
  of(keyId: string): BudgetLedger {
    let ledger = this.ledgers.get(keyId);
    if (!ledger) {
      ledger = new Ledger(this.redis, {
        prefix: `${this.prefix}:key:${keyId}`,
        ...(this.global.replicaAcks ? { replicaAcks: this.global.replicaAcks } : {}),
        defaultLimitMicros: null,
        loadSpent: (day) => spentOnDay(this.db, day, keyId),
        limitStore: {
          load: async () => effectiveLimit(await this.limits(keyId)) ?? undefined,
          // The key's ledger caches the effective limit; setKeyLimits writes the parts and refreshes it.
          save: async () => {},
        },
      });
      this.ledgers.set(keyId, ledger);
    }
    return ledger;
  }

  /** The admin's cap and the key's own limit. */
  async limits(keyId: string): Promise<KeyLimits> {
    return (await getSetting<KeyLimits>(this.db, settingOf(keyId))) ?? { admin: null, own: null };
  }

  /** Changes one part of a key's limits (the admin's cap or its own) and puts the new effective limit in force. */
  async setLimits(keyId: string, change: Partial<KeyLimits>): Promise<KeyLimits> {
    const next = { ...(await this.limits(keyId)), ...change };
    await putSetting(this.db, settingOf(keyId), next);
    const limit = effectiveLimit(next);
    if (limit === null) await this.of(keyId).clearLimit();
    else await this.of(keyId).setLimit(limit);
    return next;
  }

  /**
   * Holds `amountMicros` in the key's budget and the global one, or in neither: one script, one round trip on a
   * single Redis (the day comes from the measured clock, the script reads both runtime limits). On a cluster the
   * limits live in other slots and are read first. A missing counter or limit is rebuilt and the script asked again.
   */
  async reserve(keyId: string, input: HoldInput): Promise<KeyedReserveResult> {
    return this.reserveThrough(keyId, input, (keys, args) => this.reservePair(keys, args));
  }

  /**
   * reserve and a model's slot (ModelLimiter.acquirePart) in ONE script, on a single Redis only (a cluster keeps the
   * slot's keys in the model's slot): the slot is asked for only when both holds fit, and a refused slot gives the
   * holds back, so either refusal leaves nothing held. `slot` is the script's slot reply for ModelLimiter.acquired
   * ({-1, 0, ''}: not asked, the holds were refused).
   */
  async reserveWithSlot(
    keyId: string,
    input: HoldInput,
    slot: SlotPart,
  ): Promise<{ hold: KeyedReserveResult; slot: [number, number, string] }> {
    if (this.global.onCluster)
      throw new Error('reserveWithSlot needs a single Redis: on a cluster, reserve then acquire');
    let reply: [number, number, string] = [-1, 0, ''];
    const hold = await this.reserveThrough(keyId, input, async (keys, args) => {
      const r = await this.reserveSlot([...keys, ...slot.keys], [...args, ...slot.args]);
      reply = [r[6], r[7], r[8]];
      return [r[0], r[1], r[2], r[3], r[4], r[5] === 0 ? undefined : (r[5] as Which)];
    });
    return { hold, slot: reply };
  }

  /** The loop of reserve and reserveWithSlot: rebuild what Redis lost and ask again, at most PAIR_TRIES calls. */
  private async reserveThrough(
    keyId: string,
    input: HoldInput,
    call: (keys: string[], args: Array<string | number>) => Promise<PairReserveReply>,
  ): Promise<KeyedReserveResult> {
    const amount = micros(input.amountMicros, 'amountMicros');
    const ttlMs = micros(input.ttlMs, 'ttlMs');
    if (ttlMs <= 0) throw new RangeError('ttlMs must be positive');
    const ledgers = [this.of(keyId), this.global] as const;
    const cluster = this.global.onCluster;
    const [day, ...read] = await Promise.all([
      this.global.today(),
      ...ledgers.map((l) => (cluster ? l.getLimit() : undefined)),
    ]);
    const limits: Array<number | null | undefined> = read;
    for (let tries = 1; ; tries++) {
      const parts = ledgers.map((l, i) => l.reservePart(day, limits[i]));
      const [status, spentMicros, reservedMicros, alert, shown, which] = await call(
        parts.flatMap((p) => p.keys),
        [checkedId(input.reservationId), amount, ttlMs, KEEP_MS, ...parts.flatMap((p) => p.args)],
      );
      if (status === 1) return { ok: true, day, alertCrossed: alert === 1 };
      const scope = which === 1 ? 'key' : 'global';
      if (status === 0) {
        return { ok: false, day, scope, spentMicros, reservedMicros, limitMicros: Math.max(0, shown) };
      }
      if (tries >= PAIR_TRIES) throw new Error(`${scope} budget for ${day}: counter or limit still missing`);
      const i = which === 1 ? 0 : 1;
      if (status === -1) await ledgers[i].reload(day);
      else limits[i] = await ledgers[i].getLimit(); // -2: reloads the cached limit too
    }
  }

  /** Replaces both holds with the actual cost (idempotent per ledger); answers with the global ledger's totals. */
  settle(keyId: string, reservationId: string, actualMicros: number, day: string): Promise<KeyedSettleResult> {
    return this.settleThrough(keyId, reservationId, actualMicros, day, (keys, args) => this.settlePair(keys, args));
  }

  /**
   * settle and a model's slot given back (ModelLimiter.releasePart) in ONE script, on a single Redis only (see
   * reserveWithSlot). The slot goes first and is idempotent, so the retries after a lost counter repeat it harmlessly.
   */
  settleWithSlot(
    keyId: string,
    reservationId: string,
    actualMicros: number,
    day: string,
    slot: SlotPart,
  ): Promise<KeyedSettleResult> {
    if (this.global.onCluster) throw new Error('settleWithSlot needs a single Redis: on a cluster, settle and release');
    return this.settleThrough(keyId, reservationId, actualMicros, day, (keys, args) =>
      this.settleSlot([...keys, ...slot.keys], [...args, ...slot.args]),
    );
  }

  private async settleThrough(
    keyId: string,
    reservationId: string,
    actualMicros: number,
    day: string,
    call: (keys: string[], args: Array<string | number>) => Promise<PairSettleReply>,
  ): Promise<KeyedSettleResult> {
    const actual = micros(actualMicros, 'actualMicros');
    const ledgers = [this.of(keyId), this.global] as const;
    for (let tries = 1; ; tries++) {
      const parts = ledgers.map((l) => l.settlePart(day));
      const [status, spentMicros, reservedMicros, alert, which] = await call(
        parts.flatMap((p) => p.keys),
        [checkedId(reservationId), actual, KEEP_MS, ...parts.flatMap((p) => p.args)],
      );
      if (status !== -1) return { applied: status === 1, day, spentMicros, reservedMicros, alertCrossed: alert === 1 };
      if (tries >= PAIR_TRIES) throw new Error(`budget counter for ${day} is still missing after loading it`);
      await ledgers[which === 1 ? 0 : 1].reload(day);
    }
  }

  /** Gives both holds back. */
  async release(keyId: string, reservationId: string, day: string): Promise<void> {
    const keys = [this.of(keyId), this.global].flatMap((l) => l.settlePart(day).keys);
    await this.releasePair(keys, [checkedId(reservationId)]);
  }

  /** One key's budget today (what that key may see). */
  state(keyId: string): Promise<BudgetState> {
    return this.of(keyId).state();
  }
}
