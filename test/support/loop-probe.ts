import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const SCHEDSTAT = '/proc/thread-self/schedstat';

/** Nanoseconds this thread has run on a CPU (Linux schedstat), or undefined where the kernel does not say. */
export function cpuNs(): number | undefined {
  try {
    return Number(readFileSync(SCHEDSTAT, 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

/** What probeLoop measured while its function ran. */
export interface LoopProbe<T> {
  result: T;
  /**
   * The most CPU time this thread used between two ticks of a 5 ms timer: how long its event loop ran without a
   * break. Time the OS gave to other processes is not counted, so a loaded, shared machine does not make a loop
   * that merely waited look blocked. Equals delayMs where the kernel has no per-thread schedstat.
   */
  busyMs: number;
  /** The longest lateness of a tick (monitorEventLoopDelay), descheduled time included. */
  delayMs: number;
}

/** Runs `run` while probing this thread's event loop (the API's, when the API runs in the test process). */
export async function probeLoop<T>(run: () => Promise<T>): Promise<LoopProbe<T>> {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  let last = cpuNs();
  let busyNs = 0;
  const timer = setInterval(() => {
    const now = cpuNs();
    if (now !== undefined && last !== undefined) busyNs = Math.max(busyNs, now - last);
    last = now;
  }, 5);
  histogram.enable();
  try {
    const result = await run();
    const delayMs = histogram.max / 1e6;
    return { result, busyMs: last === undefined ? delayMs : busyNs / 1e6, delayMs };
  } finally {
    histogram.disable();
    clearInterval(timer);
  }
}

/** Keeps this thread busy for `ms` of its own CPU time (wall time where schedstat is missing). */
export function burnCpu(ms: number): void {
  const cpuStart = cpuNs();
  const wallStart = performance.now();
  for (;;) {
    const now = cpuNs();
    const spent = now !== undefined && cpuStart !== undefined ? (now - cpuStart) / 1e6 : performance.now() - wallStart;
    if (spent >= ms) return;
  }
}
