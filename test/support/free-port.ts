import { createServer } from 'node:net';

/**
 * A loopback TCP port that was free a moment ago. Another process may take it before the caller binds it, so
 * callers that start a server on it retry with a new port when the server cannot bind.
 */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = srv.address() as { port: number };
  await new Promise((resolve) => srv.close(resolve));
  return port;
}
