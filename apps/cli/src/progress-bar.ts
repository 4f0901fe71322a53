import type { BatchProgress } from '@orchex/client';

/** Bar width in characters. */
const BAR_WIDTH = 24;

/** "42s", "3m05s", "1h02m". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** USD with enough decimals for fractions of a cent. */
export function formatUsd(usd: number): string {
  return `$${usd.toFixed(usd !== 0 && Math.abs(usd) < 1 ? 4 : 2)}`;
}

/** One progress line: bar, done/total, failed, cost so far, rate and ETA (rate over `elapsedMs`). */
export function renderProgress(p: BatchProgress, elapsedMs: number, bar = true): string {
  const frac = p.total > 0 ? p.done / p.total : 1;
  const filled = Math.round(frac * BAR_WIDTH);
  const rate = elapsedMs > 0 ? (p.done * 1000) / elapsedMs : 0;
  const eta =
    p.done >= p.total ? 'done' : rate > 0 ? `ETA ${formatDuration(((p.total - p.done) / rate) * 1000)}` : 'ETA —';
  const parts = [`${p.done}/${p.total} done`, `${p.failed} failed`, formatUsd(p.cost), `${rate.toFixed(1)}/s`, eta];
  const pct = `${String(Math.floor(frac * 100)).padStart(3)}%`;
  return bar
    ? `[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] ${pct}  ${parts.join(' · ')}`
    : `progress: ${pct} ${parts.join(', ')}`;
}

/**
 * Shows batch progress on a stream: redrawn in place on a TTY; on anything else (a log file, CI) a plain line every
 * `plainEveryMs` (default 5000) and at the end, so logs stay readable.
 */
export class ProgressReporter {
  readonly #started = Date.now();
  #lastPlain = 0;
  #drawn = false;

  constructor(
    private readonly out: { write(text: string): unknown; isTTY?: boolean },
    private readonly plainEveryMs = 5000,
  ) {}

  update(p: BatchProgress): void {
    const elapsed = Date.now() - this.#started;
    const finished = p.done >= p.total;
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[2K${renderProgress(p, elapsed)}${finished ? '\n' : ''}`);
      this.#drawn = !finished;
      return;
    }
    if (finished || Date.now() - this.#lastPlain >= this.plainEveryMs) {
      this.#lastPlain = Date.now();
      this.out.write(`${renderProgress(p, elapsed, false)}\n`);
    }
  }

  /** Ends a half-drawn TTY line before other output. */
  finish(): void {
    if (this.#drawn) this.out.write('\n');
    this.#drawn = false;
  }
}
