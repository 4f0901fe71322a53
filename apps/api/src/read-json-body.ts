import type { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { parseByteSize } from '@orchex/core';
import type { Request } from 'express';
import { HttpError } from './http-errors.ts';

/** Media types read as JSON bodies (as express.json reads them). */
export const JSON_TYPES = ['application/json', 'application/*+json'];

/** A body limit such as "12mb" in bytes; throws (at start) on a malformed one. */
export function bodyLimitBytes(limit: string): number {
  const bytes = parseByteSize(limit);
  if (!(bytes > 0)) throw new Error(`body limit "${limit}" is not a size such as 12mb or 512kb`);
  return bytes;
}

/** Most body bytes read in one turn of the event loop (see readJsonBody). */
const BYTES_PER_TURN = 512 * 1024;

/** Where a body's bytes go as they arrive (RequestPlanner's sink). */
export interface BodySink {
  write(chunk: Buffer): void;
  /** The request failed; forget what was written. */
  abort(): void;
}

const DECODERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * Streams a JSON request body into `sink`, chunk by chunk as it arrives, up to `limit` bytes (decompressed): never
 * concatenated into one buffer on this thread (a 64 MB Buffer.concat alone held the event loop for ~150 ms). A body
 * that is not JSON (by Content-Type) writes nothing, and reads as `{}` like express.json's. Throws HttpError: 413 over
 * the limit, 415 for a charset other than UTF-8 or an unknown Content-Encoding, 400 if the client aborts.
 */
export async function readJsonBody(req: Request, limit: number, sink: BodySink): Promise<void> {
  if (!req.is(JSON_TYPES)) return;
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8') {
    throw new HttpError(415, 'unsupported_charset', 'request bodies must be UTF-8 JSON (charset=utf-8)');
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  const decoder = DECODERS[encoding];
  if (!decoder && encoding !== 'identity') {
    throw new HttpError(415, 'unsupported_encoding', `Content-Encoding "${encoding}" is not supported`);
  }
  const tooLarge = () => new HttpError(413, 'payload_too_large', `request body exceeds ${limit} bytes`);
  if (encoding === 'identity' && Number(req.headers['content-length'] ?? 0) > limit) throw tooLarge();
  const decoded = decoder?.();
  if (decoded) req.pipe(decoded);
  const stream: Readable = decoded ?? req;
  let received = 0;
  // Bytes handled in this turn of the event loop. A fast client fills the socket faster than the loop turns: libuv
  // reads up to 2 MB at once, and forwarding that much (copies into fresh memory) held the loop for 25–45 ms.
  let thisTurn = 0;
  const nextTurn = () => {
    thisTurn = 0;
    stream.resume();
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (err: HttpError) => {
        if (failed) return;
        failed = true;
        reject(err);
      };
      stream.on('data', (chunk: Buffer) => {
        if (failed) return;
        received += chunk.length;
        if (received <= limit) {
          sink.write(chunk);
          thisTurn += chunk.length;
          if (thisTurn >= BYTES_PER_TURN && !stream.isPaused()) {
            stream.pause();
            setImmediate(nextTurn);
          }
          return;
        }
        // Stop decoding, read the rest off the wire and drop it (as body-parser does), then answer 413.
        stream.removeAllListeners('data');
        if (decoded) {
          req.unpipe();
          decoded.destroy();
        }
        req.resume();
        if (req.complete) fail(tooLarge());
        else req.once('end', () => fail(tooLarge()));
      });
      stream.on('end', () => {
        if (!failed) resolve();
      });
      stream.on('error', () => {
        // A body that does not inflate: drop the rest of it, so this connection can carry the 400 and the next request.
        if (decoded) req.unpipe(decoded);
        req.resume();
        const why = decoded ? `it is not valid ${encoding}` : 'the connection failed';
        fail(new HttpError(400, 'bad_request', `the request body could not be read: ${why}`));
      });
      req.on('close', () => {
        if (!req.complete) fail(new HttpError(400, 'request_aborted', 'the client aborted the request'));
      });
    });
  } catch (err) {
    sink.abort();
    throw err;
  }
}
