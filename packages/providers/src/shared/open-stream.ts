import { ProviderError } from '@orchex/core';
import type { StreamPart } from '../language-model.ts';
import { afterOutputError } from './after-output-error.ts';

/** What openStream needs besides the adapter's parts. */
export interface OpenStreamContext {
  provider: string;
  /** orchex's model name. */
  model: string;
  /** The caller's deadline: a stream that stops early after it fired was cut by us, not by the server. */
  abortSignal: AbortSignal | undefined;
  /** The adapter's classifier: anything its generator throws → one ProviderError (ProviderErrors pass through). */
  classify(error: unknown): ProviderError;
}

/** Adapter-side parts: text deltas, then one finish; returning without a finish means the stream stopped early. */
export type PartSource = AsyncGenerator<StreamPart, void, undefined>;

/**
 * doStream's result from an adapter's part generator. It waits for the first part, so every failure before the
 * first text delta — an error status, an in-stream error event, a broken connection — rejects doStream() itself
 * and the caller can retry or fail over with nothing shown to its client; every failure after it is rethrown from the
 * iterator marked afterOutput. A source that ends without its finish part was cut short: kind timeout when the
 * caller's signal fired (the SDKs end a stream silently on abort), else malformed_response.
 */
export async function openStream(source: PartSource, ctx: OpenStreamContext): Promise<AsyncIterable<StreamPart>> {
  const first = await pull(source, ctx, false);
  return new PartStream(first, source, ctx);
}

async function pull(source: PartSource, ctx: OpenStreamContext, delivered: boolean): Promise<StreamPart> {
  try {
    const next = await source.next();
    if (next.done) throw endedEarly(ctx);
    return next.value;
  } catch (error) {
    const classified = ctx.classify(error);
    throw delivered ? afterOutputError(classified) : classified;
  }
}

function endedEarly(ctx: OpenStreamContext): ProviderError {
  const base = { provider: ctx.provider, model: ctx.model };
  if (ctx.abortSignal?.aborted) {
    return new ProviderError({ ...base, kind: 'timeout', message: `${ctx.provider} call aborted (deadline reached)` });
  }
  return new ProviderError({
    ...base,
    kind: 'malformed_response',
    message: `${ctx.provider} stream ended before its final event`,
  });
}

/**
 * The iterator handed to the caller. A class rather than a generator so that return() before the first next() still
 * closes the SDK's stream (a generator not yet started skips its finally).
 */
class PartStream implements AsyncIterableIterator<StreamPart> {
  #pending: StreamPart | undefined;
  #delivered = false;
  #done = false;
  readonly #source: PartSource;
  readonly #ctx: OpenStreamContext;

  constructor(first: StreamPart, source: PartSource, ctx: OpenStreamContext) {
    this.#pending = first;
    this.#source = source;
    this.#ctx = ctx;
  }

  async next(): Promise<IteratorResult<StreamPart, undefined>> {
    if (this.#done) return { done: true, value: undefined };
    let part = this.#pending;
    this.#pending = undefined;
    if (part === undefined) {
      try {
        part = await pull(this.#source, this.#ctx, this.#delivered);
      } catch (error) {
        this.#done = true;
        throw error;
      }
    }
    if (part.type === 'finish') {
      this.#done = true;
      await this.#source.return(undefined);
    } else {
      this.#delivered = true;
    }
    return { done: false, value: part };
  }

  /** Leaving the loop early: closes the SDK's stream, which aborts the HTTP request. */
  async return(): Promise<IteratorResult<StreamPart, undefined>> {
    if (!this.#done) {
      this.#done = true;
      this.#pending = undefined;
      await this.#source.return(undefined);
    }
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<StreamPart> {
    return this;
  }
}
