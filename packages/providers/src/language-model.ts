import type { Usage } from '@orchex/core';

/** Why generation stopped, unified across providers; `raw` keeps the provider's own value. */
export type UnifiedFinishReason = 'stop' | 'length' | 'content-filter' | 'tool-calls' | 'error' | 'other';

export interface GenerateOptions {
  prompt: string;
  system?: string | undefined;
  /** Largest output in tokens. */
  maxOutputTokens: number;
  temperature?: number | undefined;
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
}
