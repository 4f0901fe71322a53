import { connect } from 'node:net';

/** What answers on a loopback port: a Redis (PONG, or LOADING while it replays its AOF), nothing, or something else. */
export type PortProbe = { state: 'redis'; loading: boolean } | { state: 'free' } | { state: 'other'; reply: string };

/**
 * Sends PING to 127.0.0.1:port over a bare socket (no client library, no retries): `free` when the connection is
 * refused, `redis` for `+PONG` or `-LOADING`, `other` for anything else (a password-protected Redis answers `-NOAUTH`,
 * another protocol answers garbage or nothing within `timeoutMs`).
 */
export function probeRedisPort(port: number, timeoutMs = 1000): Promise<PortProbe> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (probe: PortProbe) => {
      socket.destroy();
      resolve(probe);
    };
    socket.setTimeout(timeoutMs, () =>
      done({ state: 'other', reply: reply.trim() || `no answer within ${timeoutMs} ms` }),
    );
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done(err.code === 'ECONNREFUSED' ? { state: 'free' } : { state: 'other', reply: err.message }),
    );
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString('latin1');
      if (!reply.includes('\r\n')) return;
      if (/^(\+PONG|-LOADING)/.test(reply)) done({ state: 'redis', loading: reply.startsWith('-LOADING') });
      else done({ state: 'other', reply: reply.split('\r\n')[0] ?? '' });
    });
  });
}
