import { availableParallelism, loadavg } from 'node:os';

/** "load average 1.23 0.98 0.71 (2 cores)": printed at a bench's start and end, since other work skews the figures. */
export function loadAverage(): string {
  return `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (${availableParallelism()} cores)`;
}
