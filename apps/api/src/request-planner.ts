import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type LongTextField, type OrchexConfig, type PlannedTask, runtimeFile, type TextPieces } from '@orchex/core';
import type { SignalReader } from '@orchex/queue';
import { HttpError } from './http-errors.ts';
import { OpenAIError } from './openai/openai-error.ts';
import { type PlannedRequest, planRequest, type RequestKind } from './plan-request.ts';
import type { PlanMessage, PlanReply } from './plan-thread.ts';
import { attachTexts, fromPortable, type PortablePlannedTask, piecesOf } from './portable-plan.ts';
import type { BodySink } from './read-json-body.ts';

// Run from source (tsx, vitest), a thread needs tsx registered before it can load TypeScript: plan-thread-boot.mjs
// does that. Compiled (`npm run build`), the thread is its own bundle in dist/, beside the one importing this code.
const PLAN_THREAD_ENTRY = runtimeFile(import.meta.url, './plan-thread-boot.mjs', './plan-thread.js');

/** Options of a RequestPlanner. */
export interface RequestPlannerOptions {
  /** Bodies up to this many bytes are planned on the calling thread. Default {@link INLINE_BODY_BYTES}. */
  inlineBytes?: number;
  /** Worker threads for larger bodies. Default: one per core beyond the first, at least 1, at most 2. */
  threads?: number;
  /** The models' measured latency and health, read when a body is planned. Default: none (all unmeasured). */
  signals?: SignalReader;
}

/**
 * Largest body planned on the API's own thread. Planning tokenizes the text (~1 µs per character on a loaded 2-core
 * machine), so 4 KB costs a few milliseconds; a 12 MB body took ~1 s and a 64 MB batch many seconds, which would have
 * stopped every other request for as long. Above this, a thread hop adds about a millisecond.
 */
export const INLINE_BODY_BYTES = 4 * 1024;

/** A body being received: bytes go in with write(), the planned request comes out of end(). */
export interface PlanSink extends BodySink {
  /** The body is complete: its planned request, or a rejection with HttpError (400, 422) when it is refused. */
  end(): Promise<PlannedRequest>;
}

/** Bytes of body per message to a planner thread. */
const FORWARD_BLOCK_BYTES = 256 * 1024;
/** Blocks kept for reuse (16 MB). */
const MAX_FREE_BLOCKS = 64;

interface Pending {
  resolve: (r: PlannedRequest) => void;
  reject: (e: unknown) => void;
  tasks: PlannedTask[];
  /** Long texts sent ahead in pieces, by reference number (see detachLargeTexts). */
  texts: string[][];
}

/**
 * A planned task from its thread's message: long texts restored (as ropes, never flattened here) and their pieces
 * kept in `textPieces`, so the database writes them piece by piece and no 10 MB string is ever made on this thread.
 */
function withPieces(t: PortablePlannedTask, texts: readonly string[][]): PlannedTask {
  const textPieces: TextPieces = {};
  for (const field of ['prompt', 'context', 'system'] as const satisfies readonly LongTextField[]) {
    const pieces = piecesOf(t.input[field], texts);
    if (pieces) textPieces[field] = pieces;
  }
  const planned = fromPortable(attachTexts(t, texts));
  return Object.keys(textPieces).length ? { ...planned, textPieces } : planned;
}

interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
}

/**
 * Runs planRequest for the submit routes: a small body on the calling thread, a larger one on a worker thread that
 * receives it chunk by chunk as it arrives, so that no body up to 64 MB is ever concatenated, parsed or planned on
 * the API's event loop. Threads start on first use and are replaced if one dies (its requests fail with a 500).
 */
export class RequestPlanner {
  private readonly inlineBytes: number;
  private readonly size: number;
  private readonly signals: SignalReader | undefined;
  private readonly threads: Thread[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly config: OrchexConfig,
    opts: RequestPlannerOptions = {},
  ) {
    this.inlineBytes = opts.inlineBytes ?? INLINE_BODY_BYTES;
    this.size = opts.threads ?? Math.min(2, Math.max(1, availableParallelism() - 1));
    this.signals = opts.signals;
  }

  /** A sink for the body of a submit route, POST /v1/estimate or POST /v1/chat/completions (see RequestKind). */
  open(kind: RequestKind): PlanSink {
    let chunks: Buffer[] = [];
    let size = 0;
    let remote: { thread: Thread; id: number; done: Promise<PlannedRequest> } | undefined;
    const send = (message: PlanMessage, transfer: ArrayBuffer[] = []) =>
      remote?.thread.worker.postMessage(message, transfer);
    // Chunks (≤ 64 KB each) are copied into blocks that are moved to the thread, not cloned: a chunk views a buffer
    // the HTTP parser shares, and one message per block instead of per chunk costs this thread less.
    let block: Uint8Array | undefined;
    let filled = 0;
    const flush = () => {
      if (!remote || !block || filled === 0) return;
      const data = block.subarray(0, filled);
      send({ type: 'chunk', id: remote.id, data }, [block.buffer as ArrayBuffer]);
      block = undefined;
      filled = 0;
    };
    const giveBack = () => {
      if (block && this.freeBlocks.length < MAX_FREE_BLOCKS) this.freeBlocks.push(block);
      block = undefined;
    };
    const forward = (chunk: Buffer) => {
      for (let at = 0; at < chunk.length; ) {
        block ??= this.takeBlock();
        const n = Math.min(chunk.length - at, block.length - filled);
        block.set(chunk.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === block.length) flush();
      }
    };
    return {
      write: (chunk) => {
        if (remote) {
          forward(chunk);
          return;
        }
        chunks.push(chunk);
        size += chunk.length;
        if (size <= this.inlineBytes) return;
        remote = this.startJob(kind);
        for (const c of chunks) forward(c);
        chunks = [];
      },
      abort: () => {
        giveBack();
        if (!remote) return;
        remote.thread.pending.delete(remote.id);
        send({ type: 'abort', id: remote.id });
      },
      end: async () => {
        const signals = (await this.signals?.forPlanning()) ?? {};
        if (!remote) return planRequest(kind, Buffer.concat(chunks), this.config, signals);
        flush();
        giveBack();
        send({ type: 'end', id: remote.id, signals });
        return remote.done;
      },
    };
  }

  /** Blocks the threads gave back after copying what they carried; reused so forwarding allocates nothing. */
  private readonly freeBlocks: Uint8Array[] = [];

  private takeBlock(): Uint8Array {
    return this.freeBlocks.pop() ?? new Uint8Array(FORWARD_BLOCK_BYTES);
  }

  /** Starts a thread now, so that the first large body does not wait for one to load. */
  warm(): void {
    if (!this.closed && this.threads.length === 0) this.startThread();
  }

  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads.splice(0);
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  private startJob(kind: RequestKind): { thread: Thread; id: number; done: Promise<PlannedRequest> } {
    if (this.closed) throw new Error('request planner is closed');
    const thread = this.pickThread();
    const id = this.nextId++;
    const done = new Promise<PlannedRequest>((resolve, reject) => {
      thread.pending.set(id, { resolve, reject, tasks: [], texts: [] });
    });
    // Nobody awaits a job whose body failed to arrive; its rejection (the thread dying meanwhile) is not an error.
    done.catch(() => {});
    thread.worker.postMessage({ type: 'start', id, kind } satisfies PlanMessage);
    return { thread, id, done };
  }

  /** A thread with no request in hand, else a new one while the pool is not full, else the least busy. */
  private pickThread(): Thread {
    const idle = this.threads.find((t) => t.pending.size === 0);
    if (idle) return idle;
    if (this.threads.length < this.size) return this.startThread();
    return this.threads.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  }

  private startThread(): Thread {
    const worker = new Worker(PLAN_THREAD_ENTRY, {
      workerData: { config: this.config },
    });
    // An idle thread must not keep the process alive; the HTTP server does that.
    worker.unref();
    const thread: Thread = { worker, pending: new Map() };
    worker.on('message', (reply: PlanReply) => this.onReply(thread, reply));
    const fail = (why: string) => {
      const i = this.threads.indexOf(thread);
      if (i >= 0) this.threads.splice(i, 1);
      for (const p of thread.pending.values()) p.reject(new Error(`request planner thread ${why}`));
      thread.pending.clear();
    };
    worker.on('error', (err) => fail(`failed: ${err.name}`));
    worker.on('exit', (code) => fail(`exited (${code})`));
    this.threads.push(thread);
    return thread;
  }

  private onReply(thread: Thread, reply: PlanReply): void {
    if (reply.type === 'block') {
      if (this.freeBlocks.length < MAX_FREE_BLOCKS) this.freeBlocks.push(reply.block);
      return;
    }
    // The thread sends the next reply of this job only once this one is handled (see PlanReply). Acknowledged after
    // this turn of the event loop, not now: replies arriving during this turn would be handled in it too.
    setImmediate(() => thread.worker.postMessage({ type: 'ack', id: reply.id } satisfies PlanMessage));
    const pending = thread.pending.get(reply.id);
    if (!pending) return;
    if (reply.type === 'text') {
      const pieces = pending.texts[reply.ref];
      if (pieces) pieces.push(reply.piece);
      else pending.texts[reply.ref] = [reply.piece];
      return;
    }
    if (reply.type === 'tasks') {
      for (const t of reply.tasks) pending.tasks.push(withPieces(t, pending.texts));
      return;
    }
    thread.pending.delete(reply.id);
    if (reply.type === 'done') {
      const { idempotencyKey, name, requestHash, chat } = reply;
      pending.resolve({ planned: pending.tasks, idempotencyKey, name, requestHash, ...(chat ? { chat } : {}) });
    } else if (reply.type === 'refused') {
      pending.reject(new HttpError(reply.status, reply.code, reply.message, reply.fields));
    } else if (reply.type === 'refused-openai') {
      pending.reject(new OpenAIError(reply.status, reply.errorType, reply.message, reply.param, reply.code));
    } else {
      pending.reject(new Error(`planning failed on its thread: ${reply.error}`));
    }
  }
}
