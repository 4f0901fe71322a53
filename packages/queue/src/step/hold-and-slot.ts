import type { HoldInput, KeyedReserveResult, KeyedSettleResult } from '../budget/index.ts';
import type { AcquireResult, ModelLimits } from '../limits/index.ts';
import type { StepDeps } from './step-deps.ts';

/**
 * What a call needs from Redis before it is made: the budget hold and, when the hold fitted (`held`), the model's
 * slot — or why not; a refused slot has already given the hold back.
 */
export type Taken =
  | { held: false; hold: Extract<KeyedReserveResult, { ok: false }> }
  | { held: true; hold: Extract<KeyedReserveResult, { ok: true }>; lease: AcquireResult };

/** Where a slot is taken: the model, its limits, and the acquisition's options. */
export interface SlotRequest {
  model: string;
  limits: ModelLimits;
  estimatedTokens: number;
}

/**
 * Rungs 1 and 2 of the ladder: the worst case held in both budgets, then a slot of the model's limits. On one Redis
 * both go in ONE script (KeyBudgets.reserveWithSlot); on a cluster — the budget's keys in the day's slot, the model's
 * in its own — the hold, then the slot. Either way a refused slot (or a failed acquisition) leaves no hold behind,
 * and a refused hold asks for no slot, so no request of the model's rpm window is used by a call that is not made.
 */
export async function takeHoldAndSlot(
  deps: StepDeps,
  apiKeyId: string,
  hold: HoldInput,
  slot: SlotRequest,
): Promise<Taken> {
  const options = { estimatedTokens: slot.estimatedTokens, leaseMs: deps.leaseMs, holder: deps.holder };
  if (!deps.budget.global.onCluster) {
    const part = deps.limiter.acquirePart(slot.model, slot.limits, options);
    const taken = await deps.budget.reserveWithSlot(apiKeyId, hold, part);
    if (!taken.hold.ok) return { held: false, hold: taken.hold };
    return { held: true, hold: taken.hold, lease: deps.limiter.acquired(part.leaseId, taken.slot) };
  }
  const held = await deps.budget.reserve(apiKeyId, hold);
  if (!held.ok) return { held: false, hold: held };
  const release = () => deps.budget.release(apiKeyId, hold.reservationId, held.day);
  let lease: AcquireResult;
  try {
    lease = await deps.limiter.acquire(slot.model, slot.limits, options);
  } catch (err) {
    await release().catch(() => {}); // not at its expiry: the step is delayed, the money is free now
    throw err;
  }
  if (!lease.ok) await release();
  return { held: true, hold: held, lease };
}

/**
 * Rung 4's Redis half: the slot given back with the tokens used, and the hold settled to `costMicros` — in ONE script
 * on one Redis, side by side on a cluster.
 */
export async function settleHoldAndSlot(
  deps: StepDeps,
  apiKeyId: string,
  model: string,
  held: { reservationId: string; day: string; leaseId: string },
  costMicros: number,
  actualTokens: number,
): Promise<KeyedSettleResult> {
  if (!deps.budget.global.onCluster) {
    const slot = deps.limiter.releasePart(model, held.leaseId, { actualTokens });
    return deps.budget.settleWithSlot(apiKeyId, held.reservationId, costMicros, held.day, slot);
  }
  const [, settled] = await Promise.all([
    deps.limiter.release(model, held.leaseId, { actualTokens }),
    deps.budget.settle(apiKeyId, held.reservationId, costMicros, held.day),
  ]);
  return settled;
}
