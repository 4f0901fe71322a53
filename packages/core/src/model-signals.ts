import type { RouterSettings } from './router-settings-schema.ts';

/**
 * What the workers measured of one model lately (kept in Redis, shared by every worker and API instance): its
 * latency per output token, its recent error rate and its circuit. Routing reads a snapshot of these at submit.
 */
export interface ModelSignal {
  /** Successful calls in the latency window. */
  samples: number;
  /** Whole-call time per output token, ms: p50 and p95 over the window; unset until min_latency_samples calls. */
  msPerTokenP50?: number;
  msPerTokenP95?: number;
  /** Whole-call time, ms, p50 and p95 over the window; unset like msPerTokenP50. */
  latencyP50Ms?: number;
  latencyP95Ms?: number;
  /** Output tokens of a recent answer, p50 (for expected costs); unset like msPerTokenP50. */
  outputTokensP50?: number;
  /** Recent outcomes counted for health (successes and the model's own failures) and the failed share of them. */
  outcomes: number;
  errorRate: number;
  /**
   * closed: healthy. open: unhealthy until `openUntil`. half_open: the cooldown passed and the model waits for one
   * probe task to succeed (every other plan still puts it last).
   */
  circuit: 'closed' | 'open' | 'half_open';
  /** When an open circuit turns half-open (ms since the epoch, Redis clock). */
  openUntil?: number;
  /** This snapshot holds the model's half-open probe: the next plan may put it in its usual place. */
  probe?: boolean;
}

/** Signals of every model that has any, by model name; a model without an entry is unmeasured and healthy. */
export type ModelSignals = Readonly<Record<string, ModelSignal>>;

/** Whether new plans may put the model in its usual place. */
export function isHealthy(signal: ModelSignal | undefined): boolean {
  return !signal || signal.circuit === 'closed' || signal.probe === true;
}

/** The same signals with no probe: after one task of a batch took it, the others put the model last again. */
export function withoutProbes(signals: ModelSignals): ModelSignals {
  if (!Object.values(signals).some((s) => s.probe)) return signals;
  return Object.fromEntries(Object.entries(signals).map(([name, s]) => [name, s.probe ? { ...s, probe: false } : s]));
}

/** One model's raw figures as stored in Redis. */
export interface RawModelSignal {
  /** Recent successful calls: [whole-call ms, output tokens], newest first. */
  latencies: ReadonlyArray<readonly [number, number]>;
  /** Recent counted outcomes, newest first: true = the model failed. */
  failures: readonly boolean[];
  /** Set while the circuit is open or half-open. */
  openUntil: number | undefined;
  /** Whether the reader holds the half-open probe. */
  probe: boolean;
}

/** The figures routing uses, from the raw lists. */
export function summarizeSignal(raw: RawModelSignal, nowMs: number, settings: RouterSettings): ModelSignal {
  const failures = raw.failures.slice(0, settings.health.window);
  const failed = failures.filter(Boolean).length;
  const signal: ModelSignal = {
    samples: raw.latencies.length,
    outcomes: failures.length,
    errorRate: failures.length ? failed / failures.length : 0,
    circuit: raw.openUntil === undefined ? 'closed' : raw.openUntil > nowMs ? 'open' : 'half_open',
  };
  if (raw.openUntil !== undefined) signal.openUntil = raw.openUntil;
  if (raw.probe && signal.circuit === 'half_open') signal.probe = true;
  if (raw.latencies.length >= settings.min_latency_samples) {
    const perToken = raw.latencies.map(([ms, tokens]) => ms / Math.max(1, tokens)).sort((a, b) => a - b);
    const whole = raw.latencies.map(([ms]) => ms).sort((a, b) => a - b);
    signal.msPerTokenP50 = round(percentile(perToken, 0.5));
    signal.msPerTokenP95 = round(percentile(perToken, 0.95));
    signal.latencyP50Ms = Math.round(percentile(whole, 0.5));
    signal.latencyP95Ms = Math.round(percentile(whole, 0.95));
    signal.outputTokensP50 = percentile(
      raw.latencies.map(([, tokens]) => tokens).sort((a, b) => a - b),
      0.5,
    );
  }
  return signal;
}

/** The nearest-rank percentile of sorted values (p in 0–1); the list is never empty here. */
function percentile(sorted: readonly number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i] as number;
}

const round = (n: number) => Math.round(n * 1000) / 1000;
