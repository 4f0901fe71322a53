import { ProviderError } from '@orchex/core';
import OpenAI from 'openai';
import type { GenerateOptions, GenerateResult, LanguageModel } from '../language-model.ts';
import type { LanguageModelInit } from '../language-model-init.ts';
import { headersToRecord } from '../shared/headers-to-record.ts';
import { malformedResponseError } from '../shared/malformed-response-error.ts';
import { missingKeyError } from '../shared/missing-key-error.ts';
import { noTimeoutFetchOptions, SDK_TIMEOUT_MS } from '../shared/no-timeout-dispatcher.ts';
import { classifyOpenAIError } from './classify-error.ts';
import { convertOpenAIUsage } from './convert-usage.ts';
import { mapOpenAIFinishReason } from './map-finish-reason.ts';
import { openaiChatCompletionSchema } from './openai-wire-schema.ts';

/** How one OpenAI-compatible server is reached; the subclasses fill it from their env variables. */
export interface OpenAICompatibleSettings {
  /** Name used in errors and GenerateResult ("openai", "ollama"). */
  provider: string;
  /** Unset → every call fails with kind "auth" naming `keyVariable`. */
  apiKey: string | undefined;
  keyVariable: string;
  /** API root including /v1. */
  baseURL: string;
  /** OpenAI's reasoning models reject `max_tokens`; other servers (Ollama) only read `max_tokens`. */
  maxTokensField: 'max_completion_tokens' | 'max_tokens';
  /** Extra headers and query parameters on every request (a model's own config). */
  headers?: Record<string, string> | undefined;
  query?: Record<string, string> | undefined;
}

/** A model behind a Chat Completions endpoint, called through the openai SDK (non-streaming). */
export class OpenAICompatibleLanguageModel implements LanguageModel {
  readonly provider: string;
  readonly modelName: string;
  readonly modelId: string;
  readonly #settings: OpenAICompatibleSettings;
  readonly #client: OpenAI | undefined;

  constructor(init: LanguageModelInit, settings: OpenAICompatibleSettings) {
    this.provider = settings.provider;
    this.modelName = init.modelName;
    this.modelId = init.modelId;
    this.#settings = settings;
    this.#client =
      settings.apiKey === undefined
        ? undefined
        : new OpenAI({
            apiKey: settings.apiKey,
            baseURL: settings.baseURL,
            ...(settings.headers ? { defaultHeaders: settings.headers } : {}),
            ...(settings.query ? { defaultQuery: settings.query } : {}),
            // The queue owns retries so that every attempt is seen and recorded.
            maxRetries: 0,
            timeout: SDK_TIMEOUT_MS,
            fetchOptions: noTimeoutFetchOptions,
          });
  }

  async doGenerate(options: GenerateOptions): Promise<GenerateResult> {
    if (!this.#client) throw missingKeyError(this.provider, this.modelName, this.#settings.keyVariable);
    const messages: OpenAI.ChatCompletionMessageParam[] = [];
    if (options.system !== undefined) messages.push({ role: 'system', content: options.system });
    messages.push({ role: 'user', content: options.prompt });
    const started = performance.now();
    let body: unknown;
    let response: Response;
    try {
      ({ data: body, response } = await this.#client.chat.completions
        .create(
          {
            model: this.modelId,
            messages,
            [this.#settings.maxTokensField]: options.maxOutputTokens,
            ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
          },
          { signal: options.abortSignal ?? null },
        )
        .withResponse());
    } catch (error) {
      throw classifyOpenAIError(error, {
        provider: this.provider,
        model: this.modelName,
        aborted: options.abortSignal?.aborted ?? false,
        apiKey: this.#settings.apiKey,
      });
    }
    const latencyMs = Math.round(performance.now() - started);

    const parsed = openaiChatCompletionSchema.safeParse(body);
    if (!parsed.success) throw malformedResponseError(this.provider, this.modelName, parsed.error, response.status);
    const completion = parsed.data;
    const choice = completion.choices[0];
    const unified = mapOpenAIFinishReason(choice.finish_reason);
    if (unified === 'content-filter') {
      // A filtered answer is not an answer: the fallback chain decides where to go next.
      throw new ProviderError({
        provider: this.provider,
        model: this.modelName,
        kind: 'content_filter',
        statusCode: response.status,
        message: `${this.provider} stopped with ${choice.finish_reason}`,
      });
    }
    return {
      content: choice.message.content ?? '',
      finishReason: { unified, raw: choice.finish_reason ?? undefined },
      usage: convertOpenAIUsage(completion.usage),
      response: { id: completion.id, modelId: completion.model, headers: headersToRecord(response.headers) },
      latencyMs,
    };
  }
}
