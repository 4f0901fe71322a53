import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A real `orchex` API process (apps/api/src/main.ts), as `npm run start:api` runs it. */
export interface ApiProcess {
  proc: ChildProcess;
  /** http://127.0.0.1:<port> */
  url: string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Everything it printed (JSON log lines). */
  output(): string;
  /** Resolves once it logged "api listening"; rejects if it exits first. */
  ready: Promise<void>;
}

/**
 * Spawns the API on `port` (127.0.0.1 is where clients reach it; it binds 0.0.0.0 as in production). `nodeArgs`:
 * what node runs, by default the TypeScript source through tsx (a compiled build is e.g. ['dist/api.js']).
 */
export function spawnApi(
  env: Record<string, string>,
  port: number,
  nodeArgs = ['--import', 'tsx', 'apps/api/src/main.ts'],
): ApiProcess {
  const proc = spawn(process.execPath, nodeArgs, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let listening = false;
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      // Only the first lines can hold it; later output is not searched again.
      if (!listening && out.includes('"api listening"')) {
        listening = true;
        resolve();
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    void exited.then((code) => {
      if (!listening) reject(new Error(`api exited with ${code} before listening:\n${out.slice(-2000)}`));
    });
  });
  // A caller that never awaits ready (e.g. the process is killed first) must not see an unhandled rejection.
  ready.catch(() => {});
  return { proc, url: `http://127.0.0.1:${port}`, exited, output: () => out, ready };
}
