import {
  type ModelSignal,
  type ModelSignals,
  type RawModelSignal,
  type RouterSettings,
  summarizeSignal,
} from '@orchex/core';
import { type LuaCommand, luaCommand, type RedisClient } from '../limits/lua-command.ts';
import { signalKeys } from './signal-keys.ts';
import { READ_SIGNALS } from './signal-scripts.ts';

/** How old a snapshot may be before a planner asks for a fresh one (it still plans with the old one meanwhile). */
export const SIGNALS_MAX_AGE_MS = 1000;
/** How long a taken half-open probe is ours: if its task never reaches the model, another may be taken after this. */
const PROBE_LEASE_MS = 30_000;

type ReadReply = [string[], string[], string | null, number, string];

/**
 * The planners' side of the measured signals: a snapshot of every model's latency and health, refreshed from Redis
 * at most once per SIGNALS_MAX_AGE_MS and only while tasks are planned (stale-while-revalidate: a planner waits only
 * for the very first read). Redis trouble leaves the last snapshot (or none: every model unmeasured and healthy) —
 * routing never fails because signals could not be read.
 */
export class SignalReader {
  private readonly read: LuaCommand<ReadReply>;
  private snapshot: Record<string, ModelSignal> = {};
  private readAt = 0;
  private refreshing: Promise<void> | undefined;
  /** When this instance last tried to take each model's probe: at most once per max age, not once per request. */
  private readonly probeTriedAt = new Map<string, number>();

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly models: readonly string[],
    private readonly settings: RouterSettings,
    private readonly maxAgeMs = SIGNALS_MAX_AGE_MS,
  ) {
    this.read = luaCommand(redis, 'orchexReadSignals', READ_SIGNALS);
  }

  /**
   * Signals to plan one request with. When a model's circuit is half-open, the probe is taken here (once across all
   * instances per lease); the snapshot returned then marks it `probe`, for this request only.
   */
  async forPlanning(): Promise<ModelSignals> {
    if (Date.now() - this.readAt > this.maxAgeMs) {
      this.refreshing ??= this.refresh(false).finally(() => {
        this.refreshing = undefined;
      });
      if (this.readAt === 0) await this.refreshing;
    }
    const now = Date.now();
    const halfOpen = Object.entries(this.snapshot).filter(
      ([name, s]) => s.circuit === 'half_open' && now - (this.probeTriedAt.get(name) ?? 0) > this.maxAgeMs,
    );
    if (halfOpen.length === 0) return this.snapshot;
    for (const [name] of halfOpen) this.probeTriedAt.set(name, now);
    const probes = await Promise.all(halfOpen.map(([name]) => this.readOne(name, true).catch(() => undefined)));
    const out: Record<string, ModelSignal> = { ...this.snapshot };
    for (const s of probes) if (s?.[1].probe) out[s[0]] = s[1];
    return out;
  }

  /** The snapshot as last read, without reading or taking a probe. */
  latest(): ModelSignals {
    return this.snapshot;
  }

  /** Every model's signals as of now (GET /v1/models). */
  async current(): Promise<ModelSignals> {
    await this.refresh(true);
    return this.snapshot;
  }

  private async refresh(strict: boolean): Promise<void> {
    try {
      const all = await Promise.all(this.models.map((m) => this.readOne(m, false)));
      this.snapshot = Object.fromEntries(
        all.filter(([, s]) => s.outcomes > 0 || s.samples > 0 || s.circuit !== 'closed'),
      );
      this.readAt = Date.now();
    } catch (err) {
      if (strict) throw err;
      this.readAt = Date.now(); // try again after the max age, not on every request
    }
  }

  private async readOne(model: string, claim: boolean): Promise<[string, ModelSignal]> {
    const k = signalKeys(this.prefix, model);
    const [latencies, outcomes, openUntil, claimed, now] = await this.read(
      [k.latency, k.outcomes, k.circuit],
      [claim ? 'claim' : 'look', PROBE_LEASE_MS],
    );
    const raw: RawModelSignal = {
      latencies: latencies.map((s) => {
        const [ms, tokens] = s.split(':');
        return [Number(ms), Number(tokens)] as const;
      }),
      failures: outcomes.map((o) => o === '1'),
      openUntil: openUntil === null ? undefined : Number(openUntil),
      probe: claimed === 1,
    };
    return [model, summarizeSignal(raw, Number(now), this.settings)];
  }
}
