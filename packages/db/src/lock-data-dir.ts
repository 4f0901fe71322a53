import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Name of the file that marks a PGlite data folder as open. */
export const DATA_DIR_LOCK_FILE = 'orchex.lock';

/**
 * Claims a PGlite data folder for this process and returns the release function. PGlite itself lets a second
 * process open a folder that is in use, and both then write blindly over each other's pages; this turns that into
 * an error at start. A lock left by a process that died is taken over (best effort: two processes starting at the
 * same instant over a stale lock could both take it).
 */
export function lockDataDir(dataDir: string): () => void {
  const file = path.join(dataDir, DATA_DIR_LOCK_FILE);
  for (let tries = 0; tries < 2; tries++) {
    try {
      // Written aside and linked into place, so a reader never sees the lock file without its pid.
      const tmp = `${file}.${process.pid}`;
      writeFileSync(tmp, String(process.pid));
      try {
        linkSync(tmp, file);
      } finally {
        rmSync(tmp, { force: true });
      }
      heldHere.add(file);
      return () => {
        heldHere.delete(file);
        rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number.parseInt(readFileSync(file, 'utf8'), 10);
      // Our own pid on a lock we do not hold is a leftover whose pid was reused (a container's pid 1 after restart).
      const held = owner === process.pid ? heldHere.has(file) : isAlive(owner);
      if (held) {
        throw new Error(
          `PGlite data folder ${dataDir} is already open in process ${owner}${owner === process.pid ? ' (this one)' : ''}. ` +
            'PGlite serves one process only: run the API and worker together (npm start), or set DATABASE_URL to use Postgres.',
        );
      }
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not lock PGlite data folder ${dataDir}: another process keeps claiming it`);
}

const heldHere = new Set<string>();

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
