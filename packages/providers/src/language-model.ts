import type { Usage } from '@orchex/core';

/** Why generation stopped, unified across providers; `raw` keeps the provider's own value. */
export type UnifiedFinishReason = 'stop' | 'length' | 'content-filter' | 'tool-calls' | 'error' | 'other';

/** One turn of a conversation; content is plain text. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface GenerateOptions {
  prompt: string;
  /** A conversation instead of `prompt` (when set, `prompt` is ignored). System messages anywhere are allowed. */
  messages?: ChatMessage[] | undefined;
  system?: string | undefined;
  /** Largest output in tokens. */
  maxOutputTokens: number;
  temperature?: number | undefined;
  /** Nucleus sampling. */
  topP?: number | undefined;
  /** Sequences that end the answer. */
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
  /** The same call, streamed (see StreamPart). */
  doStream?(options: GenerateOptions): Promise<AsyncIterable<StreamPart>>;
}

/** What a streaming call yields, in order: text deltas, then exactly one finish part (or it throws). */
export type StreamPart =
  | { type: 'text-delta'; text: string }
  | {
      type: 'finish';
      finishReason: GenerateResult['finishReason'];
      usage: Usage;
      response: GenerateResult['response'];
      latencyMs: number;
      /** The whole text. */
      content: string;
    };
