import type { Usage } from '@orchex/core';

/** Why generation stopped, unified across providers; `raw` keeps the provider's own value. */
export type UnifiedFinishReason = 'stop' | 'length' | 'content-filter' | 'tool-calls' | 'error' | 'other';

/** One turn of a conversation; content is plain text. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface GenerateOptions {
  /** A single user message (today's callers). Ignored when `messages` is set. */
  prompt: string;
  /**
   * A conversation instead of `prompt` (when set, `prompt` is ignored). System messages anywhere are allowed; each
   * adapter places them where its provider wants them (see docs/providers.md).
   */
  messages?: ChatMessage[] | undefined;
  /** Instructions placed before any system message of `messages`. */
  system?: string | undefined;
  /** Largest output in tokens. */
  maxOutputTokens: number;
  temperature?: number | undefined;
  /** Nucleus sampling, passed through as the provider's own field (top_p, topP). */
  topP?: number | undefined;
  /** Stop sequences, passed through as the provider's own field (stop, stop_sequences, stopSequences). */
  stop?: string[] | undefined;
  /** Aborts the HTTP call; the adapter turns an abort into ProviderError kind "timeout". */
  abortSignal?: AbortSignal | undefined;
}

export interface GenerateResult {
  content: string;
  finishReason: { unified: UnifiedFinishReason; raw: string | undefined };
  usage: Usage;
  response: { id: string | undefined; modelId: string | undefined; headers: Record<string, string> };
  /** Wall-clock time of the HTTP call. */
  latencyMs: number;
}

/** What a streaming call yields, in order: text deltas, then exactly one finish part (or it throws). */
export type StreamPart =
  | { type: 'text-delta'; text: string }
  | {
      type: 'finish';
      finishReason: GenerateResult['finishReason'];
      usage: Usage;
      response: GenerateResult['response'];
      /** Wall-clock time from the request to the end of the stream. */
      latencyMs: number;
      /** The whole text: the deltas concatenated. */
      content: string;
    };

/**
 * One model behind one provider (the shape of vercel/ai's LanguageModel). doGenerate resolves with the normalised
 * result or rejects with a ProviderError — never with a raw SDK error.
 */
export interface LanguageModel {
  readonly provider: string;
  /** orchex's model name (the config key). */
  readonly modelName: string;
  /** The provider's model id. */
  readonly modelId: string;
  doGenerate(options: GenerateOptions): Promise<GenerateResult>;
  /**
   * The same call as doGenerate, streamed with the SDK's own streaming API. Failures are ProviderErrors (classified
   * like doGenerate's), thrown either from the doStream() promise (before any part: nothing was streamed) or from
   * the iterator (mid-stream). A ProviderError thrown after at least one text-delta has `afterOutput: true` (the
   * answer was cut) and `outcomeUnknown: true`.
   *
   * The built-in adapters resolve doStream() only once the first text-delta (or the finish of an empty answer) has
   * arrived, so every failure before the first token rejects doStream() and the iterator only ever throws with
   * afterOutput true. Iterate to the end, or leave the loop early (break / return()) to close the connection.
   */
  doStream(options: GenerateOptions): Promise<AsyncIterable<StreamPart>>;
}
