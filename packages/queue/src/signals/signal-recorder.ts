import type { ErrorKind, Logger, RouterSettings } from '@orchex/core';
import { type LuaCommand, luaCommand, type RedisClient } from '../limits/lua-command.ts';
import { signalKeys } from './signal-keys.ts';
import { RECORD_SIGNALS, SIGNAL_TTL_MS } from './signal-scripts.ts';

/** How often a worker sends its buffered outcomes. */
const FLUSH_EVERY_MS = 250;
/** Outcomes buffered per model at most (beyond it the oldest are dropped: the window keeps the newest anyway). */
const MAX_BUFFERED = 1000;

/**
 * Failures that say something about the model's health. Not counted: 429s (capacity, which the limiter handles),
 * and errors of the request itself (bad request, context length, content filter).
 */
export function countsAgainstHealth(kind: ErrorKind): boolean {
  switch (kind) {
    case 'overloaded':
    case 'server':
    case 'timeout':
    case 'connection':
    case 'malformed_response':
    case 'auth':
      return true;
    case 'rate_limited':
    case 'bad_request':
    case 'context_length':
    case 'content_filter':
      return false;
  }
}

type Sample = ['s', number, number] | ['f', 0, 0];

/**
 * A worker's side of the measured signals: each call's outcome is buffered and sent to Redis every 250 ms, one
 * script call per model, off the path of the task (a lost flush loses figures, never a task). Shared by every worker
 * and API instance through Redis.
 */
export class SignalRecorder {
  private readonly buffered = new Map<string, Sample[]>();
  private readonly record: LuaCommand<number>;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private warned = false;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly settings: RouterSettings,
    private readonly logger: Logger,
  ) {
    this.record = luaCommand(redis, 'orchexRecordSignals', RECORD_SIGNALS);
  }

  /** A call answered after `latencyMs`, with `outputTokens` of output. */
  succeeded(model: string, latencyMs: number, outputTokens: number): void {
    this.add(model, ['s', Math.max(0, Math.round(latencyMs)), Math.max(0, outputTokens)]);
  }

  /** A call failed; only kinds that say something about the model count (countsAgainstHealth). */
  failed(model: string, kind: ErrorKind): void {
    if (countsAgainstHealth(kind)) this.add(model, ['f', 0, 0]);
  }

  /** Sends what is buffered now (and waits for it); for shutdown and tests. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batches = [...this.buffered];
    this.buffered.clear();
    const h = this.settings.health;
    const head = [
      this.settings.latency_samples,
      h.window,
      h.min_outcomes,
      h.max_error_rate,
      h.consecutive_failures,
      Math.round(h.cooldown * 1000),
      Math.round(h.max_cooldown * 1000),
      SIGNAL_TTL_MS,
    ];
    const sent = Promise.all(
      batches.map(async ([model, samples]) => {
        const k = signalKeys(this.prefix, model);
        await this.record([k.latency, k.outcomes, k.circuit], [...head, ...samples.flat()]);
      }),
    ).then(
      () => {},
      (err: unknown) => {
        if (this.warned) return;
        this.warned = true;
        this.logger.warn({ err: err instanceof Error ? err.name : 'error' }, 'model signals not recorded');
      },
    );
    this.flushing = this.flushing.then(() => sent);
    await this.flushing;
  }

  private add(model: string, sample: Sample): void {
    const list = this.buffered.get(model) ?? [];
    if (list.length === 0) this.buffered.set(model, list);
    list.push(sample);
    if (list.length > MAX_BUFFERED) list.shift();
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_EVERY_MS).unref();
  }
}
