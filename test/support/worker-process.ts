import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A real `orchex` worker process (apps/worker/src/main.ts), as `npm run start:worker` runs it. */
export interface WorkerProcess {
  proc: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Everything it printed (JSON log lines). */
  output(): string;
  /** Its JSON log lines, parsed, in the order printed (lines that are not JSON are left out). */
  logLines(): Array<Record<string, unknown>>;
  /** Resolves once it logged "worker started". */
  ready: Promise<void>;
}

/** `nodeArgs`: what node runs, by default the TypeScript source through tsx (a compiled build: ['dist/worker.js']). */
export function spawnWorker(
  env: Record<string, string>,
  args: string[] = [],
  nodeArgs = ['--import', 'tsx', 'apps/worker/src/main.ts'],
): WorkerProcess {
  const proc = spawn(process.execPath, [...nodeArgs, ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let markReady!: () => void;
  const ready = new Promise<void>((r) => {
    markReady = r;
  });
  const onData = (d: Buffer) => {
    out += d.toString();
    if (out.includes('"worker started"')) markReady();
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const logLines = () =>
    out.split('\n').flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  return { proc, exited, output: () => out, logLines, ready };
}
