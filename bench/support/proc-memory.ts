import { readFileSync } from 'node:fs';

/** Resident memory of a process in MB, from /proc: now (VmRSS) and its peak since it started (VmHWM). */
export interface ProcMemory {
  rssMb: number;
  peakMb: number;
}

export function procMemory(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}
