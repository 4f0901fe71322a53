import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.ts';

const run = promisify(execFile);

/** How to create a private Postgres cluster. */
export interface PrivatePostgresOptions {
  /** Port on 127.0.0.1. Default: a free one (retried if another process takes it first). */
  port?: number;
  /** Where initdb, pg_ctl and postgres are. Default: $PG_BINDIR, else `pg_config --bindir`. */
  bindir?: string;
  /** Extra `-c name=value` server settings, e.g. { max_connections: '200' }. Default none. */
  settings?: Record<string, string>;
}

/** A Postgres cluster only its owner uses, so a test may stop and start it without harming anyone else. */
export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth). */
  readonly url: string;
  readonly port: number;
  /** The cluster's data directory; postgres.log is next to it. */
  readonly dataDir: string;
  /** Process id of the postmaster while it runs (it changes at every start). */
  readonly pid: number | undefined;
  /** `pg_ctl stop -m fast`: clients are disconnected and new connections refused until start(). */
  stop(): Promise<void>;
  /** `pg_ctl start -w`: resolves once the server accepts connections. */
  start(): Promise<void>;
  /** Stops it (immediate mode) if it runs and removes the cluster. Safe to call twice. */
  destroy(): Promise<void>;
  /** Leaves the cluster's files on disk when this process exits (for a post-mortem); destroy() still removes them. */
  keepFiles(): void;
}

/**
 * initdb + pg_ctl start of a throwaway cluster on a loopback port, with its socket in its own directory, so it
 * never collides with the machine's Postgres. Postgres refuses to run as root, so when we are root every command
 * runs as the `postgres` user (runuser) on files it owns. An 'exit' hook sends the postmaster (by the pid in its
 * postmaster.pid) an immediate-shutdown signal, so a failed test cannot leave the cluster running.
 */
export async function startPrivatePostgres(opts: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const bindir = opts.bindir ?? process.env.PG_BINDIR ?? execFileSync('pg_config', ['--bindir']).toString().trim();
  for (const tool of ['initdb', 'pg_ctl']) {
    if (!existsSync(join(bindir, tool))) throw new Error(`${tool} not found in ${bindir} (set PG_BINDIR)`);
  }
  const asRoot = process.getuid?.() === 0;
  const root = mkdtempSync(join(tmpdir(), 'orchex-pg-'));
  const dataDir = join(root, 'data');
  const socketDir = join(root, 'socket');
  const logFile = join(root, 'postgres.log');
  mkdirSync(socketDir);
  chmodSync(root, 0o700);
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(root, uid, gid);
    chownSync(socketDir, uid, gid);
  }
  // The command line of a tool, run as the postgres user when we are root.
  const pgTool = (tool: string, args: string[]) =>
    run(asRoot ? 'runuser' : join(bindir, tool), asRoot ? ['-u', 'postgres', '--', join(bindir, tool), ...args] : args);

  const postmasterPid = (): number | undefined => {
    try {
      const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  // SIGQUIT is Postgres's immediate shutdown: the only stop that needs no waiting, which an 'exit' hook cannot do.
  const quitPostmaster = () => {
    const pid = postmasterPid();
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {}
  };
  // Best effort: the postmaster may still be exiting, but an immediate shutdown writes no more files.
  let removeOnExit = true;
  const killAndRemoveOnExit = () => {
    quitPostmaster();
    if (removeOnExit) rmSync(root, { recursive: true, force: true });
  };
  process.on('exit', killAndRemoveOnExit);
  const removeAll = () => {
    process.off('exit', killAndRemoveOnExit);
    rmSync(root, { recursive: true, force: true });
  };

  let port = opts.port ?? (await freePort());
  const settings = Object.entries(opts.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  const start = async () => {
    const serverArgs = ['-p', String(port), '-k', socketDir, '-c', 'listen_addresses=127.0.0.1', ...settings];
    await pgTool('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', serverArgs.join(' '), 'start']);
  };

  try {
    // --no-sync: initdb's own fsyncs only matter for a cluster that must survive a machine crash; this one does not.
    await pgTool('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
    // A free port can be taken between freePort() and the bind: try a few others before giving up.
    for (let tries = 1; ; tries++) {
      try {
        await start();
        break;
      } catch (err) {
        if (opts.port !== undefined || tries >= 3) {
          const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
          throw new Error(`private Postgres did not start on port ${port}: ${(err as Error).message}\n${log}`);
        }
        port = await freePort();
      }
    }
  } catch (err) {
    quitPostmaster();
    removeAll();
    throw err;
  }

  let destroyed = false;
  return {
    get url() {
      return `postgres://postgres@127.0.0.1:${port}/postgres`;
    },
    get port() {
      return port;
    },
    dataDir,
    get pid() {
      return postmasterPid();
    },
    async stop() {
      await pgTool('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
    },
    start,
    keepFiles() {
      removeOnExit = false;
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      if (postmasterPid() !== undefined) {
        await pgTool('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop']).catch(() =>
          quitPostmaster(),
        );
      }
      removeAll();
    },
  };
}
