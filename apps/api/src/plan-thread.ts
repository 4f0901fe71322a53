import { parentPort, workerData } from 'node:worker_threads';
import { type ModelSignals, type OrchexConfig, preloadTokenizers, safeErrorText, textPieces } from '@orchex/core';
import { HttpError } from './http-errors.ts';
import { OpenAIError } from './openai/openai-error.ts';
import { type PlannedRequest, planRequest, type RequestKind } from './plan-request.ts';
import { detachLargeTexts, type PortablePlannedTask, textLength, toPortable } from './portable-plan.ts';

/**
 * What RequestPlanner posts: a job starts, its body's chunks arrive in order, then it ends (or is abandoned); and an
 * ack for each reply it has handled.
 */
export type PlanMessage =
  | { type: 'start'; id: number; kind: RequestKind }
  | { type: 'chunk'; id: number; data: Uint8Array }
  | { type: 'end'; id: number; signals: ModelSignals }
  | { type: 'abort'; id: number }
  | { type: 'ack'; id: number };

/**
 * What the thread posts back for a job: long texts in pieces, the planned tasks in slices, then one final message.
 * At most REPLIES_IN_FLIGHT are unacknowledged at a time: Node hands every queued message of a port to the receiving
 * thread in one turn of its event loop, so a job's whole answer sent at once (10–64 MB) held the API's loop for
 * ~70 ms even in pieces.
 */
export type PlanReply =
  | { id: number; type: 'block'; block: Uint8Array }
  | { id: number; type: 'text'; ref: number; piece: string }
  | { id: number; type: 'tasks'; tasks: PortablePlannedTask[] }
  | {
      id: number;
      type: 'done';
      idempotencyKey: string | undefined;
      name: string | null;
      requestHash: string;
      chat: PlannedRequest['chat'];
    }
  | {
      id: number;
      type: 'refused';
      status: number;
      code: string;
      message: string;
      fields: HttpError['fields'];
    }
  | {
      id: number;
      type: 'refused-openai';
      status: number;
      errorType: OpenAIError['type'];
      message: string;
      param: string | null;
      code: string | null;
    }
  | { id: number; type: 'failed'; error: string };

/** Characters of task text per 'tasks' message. */
const SLICE_CHARS = 256 * 1024;
/**
 * Strings longer than this go ahead as 'text' messages of their own (in pieces of TEXT_PIECE_CHARS): deserialising
 * one message of a split task's 50 chunks (10M characters) held the API's event loop for ~80 ms.
 */
const DETACH_CHARS = 64 * 1024;

// The entry of a RequestPlanner thread (from source through plan-thread-boot.mjs; compiled, dist/plan-thread.js). One
// job at a time, in arrival order.
const config = (workerData as { config: OrchexConfig }).config;
preloadTokenizers(Object.values(config.models));
const port = parentPort;
if (!port) throw new Error('plan-thread.ts runs as a worker thread');

/** Replies sent and not yet acknowledged, per job. */
const REPLIES_IN_FLIGHT = 2;

const bodies = new Map<number, { kind: RequestKind; chunks: Uint8Array[] }>();
const outboxes = new Map<number, { queue: PlanReply[]; inFlight: number }>();

/** Sends a job's queued replies while fewer than REPLIES_IN_FLIGHT are unacknowledged. */
function pump(id: number): void {
  const box = outboxes.get(id);
  if (!box) return;
  while (box.inFlight < REPLIES_IN_FLIGHT && box.queue.length > 0) {
    port?.postMessage(box.queue.shift());
    box.inFlight++;
  }
  if (box.queue.length === 0 && box.inFlight === 0) outboxes.delete(id);
}

port.on('message', (message: PlanMessage) => {
  if (message.type === 'ack') {
    const box = outboxes.get(message.id);
    if (box) box.inFlight--;
    pump(message.id);
  } else if (message.type === 'start') bodies.set(message.id, { kind: message.kind, chunks: [] });
  else if (message.type === 'chunk') {
    bodies.get(message.id)?.chunks.push(message.data.slice());
    // The block goes back to be filled again: fresh memory costs the API's thread page faults (~0.5 ms per 256 KB).
    const block = new Uint8Array(message.data.buffer);
    port?.postMessage({ id: message.id, type: 'block', block } satisfies PlanReply, [block.buffer as ArrayBuffer]);
  } else if (message.type === 'abort') bodies.delete(message.id);
  else {
    const body = bodies.get(message.id);
    bodies.delete(message.id);
    if (!body) return;
    const queue: PlanReply[] = [];
    plan(message.id, body.kind, Buffer.concat(body.chunks), message.signals, (reply) => queue.push(reply));
    outboxes.set(message.id, { queue, inFlight: 0 });
    pump(message.id);
  }
});

/** Plans one body, handing each reply to `post` in order. */
function plan(
  id: number,
  kind: RequestKind,
  body: Uint8Array,
  signals: ModelSignals,
  post: (reply: PlanReply) => void,
): void {
  try {
    const planned = planRequest(kind, body, config, signals);
    let slice: PortablePlannedTask[] = [];
    let chars = 0;
    let refs = 0;
    // A string longer than a piece goes ahead in pieces (TEXT_PIECE_CHARS), each its own message.
    const detach = (text: string) => {
      const ref = refs++;
      for (const piece of textPieces(text)) post({ id, type: 'text', ref, piece });
      return ref;
    };
    for (const p of planned.planned) {
      const portable = toPortable(p);
      chars += textLength(portable);
      slice.push(detachLargeTexts(portable, DETACH_CHARS, detach));
      if (chars >= SLICE_CHARS) {
        post({ id, type: 'tasks', tasks: slice });
        slice = [];
        chars = 0;
      }
    }
    if (slice.length) post({ id, type: 'tasks', tasks: slice });
    const { idempotencyKey, name, requestHash, chat } = planned;
    post({ id, type: 'done', idempotencyKey, name, requestHash, chat });
  } catch (err) {
    if (err instanceof OpenAIError) {
      const { status, type: errorType, message, param, code } = err;
      post({ id, type: 'refused-openai', status, errorType, message, param, code });
    } else if (err instanceof HttpError) {
      const { status, code, message, fields } = err;
      post({ id, type: 'refused', status, code, message, fields });
    } else {
      post({ id, type: 'failed', error: safeErrorText(err) });
    }
  }
}
