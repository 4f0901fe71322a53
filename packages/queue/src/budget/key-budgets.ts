import { type Db, getSetting, putSetting, spentOnDay } from '@orchex/db';
import type { RedisClient } from '../limits/index.ts';
import { type BudgetLedger, type BudgetState, BudgetLedger as Ledger, type ReserveResult } from './budget-ledger.ts';

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

/**
 * The daily budget of every key beside the global one. A call holds its worst case in both — taken side by side, a
 * refusal of either giving the other hold back — so neither is ever overspent under any concurrency. (The two holds
 * are two scripts, not one: a concurrent reservation may see a hold that is about to be given back and be refused
 * for a moment; it is never admitted beyond a limit.) Each key's spend is
 * rebuilt from Postgres's rollup, and its limits kept in `settings`, like the global ones.
 */
export class KeyBudgets {
  private readonly ledgers = new Map<string, BudgetLedger>();

  constructor(
    readonly global: BudgetLedger,
    private readonly redis: RedisClient,
    private readonly db: Db,
    private readonly prefix: string,
  ) {}

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
   * Holds `amountMicros` in the key's budget and the global one, or in neither: both holds are taken together (one
   * round trip on a single Redis — the day comes from the measured clock, each script reads its own limit); when one
   * is refused, the other is given back.
   */
  async reserve(
    keyId: string,
    input: { reservationId: string; amountMicros: number; ttlMs: number },
  ): Promise<KeyedReserveResult> {
    const ledger = this.of(keyId);
    const day = await this.global.today();
    const [key, global] = await Promise.allSettled([
      ledger.reserve({ ...input, day }),
      this.global.reserve({ ...input, day }),
    ]);
    const held = (r: PromiseSettledResult<ReserveResult>) => r.status === 'fulfilled' && r.value.ok;
    if (key.status === 'fulfilled' && global.status === 'fulfilled' && key.value.ok && global.value.ok)
      return { ok: true, day, alertCrossed: global.value.alertCrossed };
    // Refused (or failed) on one side: give back what the other side holds, then report why.
    await Promise.all([
      held(key) ? ledger.release(input.reservationId, { day }) : undefined,
      held(global) ? this.global.release(input.reservationId, { day }) : undefined,
    ]);
    if (key.status === 'rejected') throw key.reason;
    if (global.status === 'rejected') throw global.reason;
    return key.value.ok ? refused('global', global.value as Refusal) : refused('key', key.value);
  }

  /** Replaces both holds with the actual cost. */
  async settle(keyId: string, reservationId: string, actualMicros: number, day: string) {
    const [, global] = await Promise.all([
      this.of(keyId).settle(reservationId, actualMicros, { day }),
      this.global.settle(reservationId, actualMicros, { day }),
    ]);
    return global;
  }

  /** Gives both holds back. */
  async release(keyId: string, reservationId: string, day: string): Promise<void> {
    await Promise.all([this.of(keyId).release(reservationId, { day }), this.global.release(reservationId, { day })]);
  }

  /** One key's budget today (what that key may see). */
  state(keyId: string): Promise<BudgetState> {
    return this.of(keyId).state();
  }
}

type Refusal = Extract<ReserveResult, { ok: false }>;

function refused(scope: 'key' | 'global', r: Refusal): KeyedReserveResult {
  const { day, spentMicros, reservedMicros, limitMicros } = r;
  return { ok: false, day, scope, spentMicros, reservedMicros, limitMicros };
}
