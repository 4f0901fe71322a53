import { ProviderError } from '@orchex/core';
import OpenAI from 'openai';
import type { GenerateOptions, GenerateResult, LanguageModel, StreamPart } from '../language-model.ts';
import type { LanguageModelInit } from '../language-model-init.ts';
import { conversationOf } from '../shared/conversation-of.ts';
import { estimateUsage } from '../shared/estimate-usage.ts';
import { headersToRecord } from '../shared/headers-to-record.ts';
import { malformedResponseError } from '../shared/malformed-response-error.ts';
import { missingKeyError } from '../shared/missing-key-error.ts';
import { noTimeoutFetchOptions, SDK_TIMEOUT_MS } from '../shared/no-timeout-dispatcher.ts';
import { openStream, type PartSource } from '../shared/open-stream.ts';
import { stopSequences } from '../shared/stop-sequences.ts';
import { classifyOpenAIError } from './classify-error.ts';
import { convertOpenAIUsage } from './convert-usage.ts';
import { mapOpenAIFinishReason } from './map-finish-reason.ts';
import {
  type OpenAIChatCompletion,
  openaiChatCompletionChunkSchema,
  openaiChatCompletionSchema,
} from './openai-wire-schema.ts';

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

/** A model behind a Chat Completions endpoint, called through the openai SDK, whole or streamed. */
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
            // The SDK logs an unparseable stream chunk's data, which is answer text; logs must not hold any.
            logLevel: 'off',
            timeout: SDK_TIMEOUT_MS,
            fetchOptions: noTimeoutFetchOptions,
          });
  }

  async doGenerate(options: GenerateOptions): Promise<GenerateResult> {
    if (!this.#client) throw missingKeyError(this.provider, this.modelName, this.#settings.keyVariable);
    const started = performance.now();
    let body: unknown;
    let response: Response;
    try {
      ({ data: body, response } = await this.#client.chat.completions
        .create(this.#params(options), { signal: options.abortSignal ?? null })
        .withResponse());
    } catch (error) {
      throw this.#classify(error, options);
    }
    const latencyMs = Math.round(performance.now() - started);

    const parsed = openaiChatCompletionSchema.safeParse(body);
    if (!parsed.success) throw malformedResponseError(this.provider, this.modelName, parsed.error, response.status);
    const completion = parsed.data;
    const choice = completion.choices[0];
    const unified = mapOpenAIFinishReason(choice.finish_reason);
    // A filtered answer is not an answer: the fallback chain decides where to go next.
    if (unified === 'content-filter') throw this.#filtered(choice.finish_reason, response.status);
    return {
      content: choice.message.content ?? '',
      finishReason: { unified, raw: choice.finish_reason ?? undefined },
      usage: convertOpenAIUsage(completion.usage),
      response: { id: completion.id, modelId: completion.model, headers: headersToRecord(response.headers) },
      latencyMs,
    };
  }

  doStream(options: GenerateOptions): Promise<AsyncIterable<StreamPart>> {
    return openStream(this.#streamParts(options), {
      provider: this.provider,
      model: this.modelName,
      abortSignal: options.abortSignal,
      classify: (error) => this.#classify(error, options),
    });
  }

  /** `create({stream: true})`, read chunk by chunk; see openStream for the failure rules. */
  async *#streamParts(options: GenerateOptions): PartSource {
    if (!this.#client) throw missingKeyError(this.provider, this.modelName, this.#settings.keyVariable);
    const started = performance.now();
    const { data: chunks, response } = await this.#client.chat.completions
      .create(
        { ...this.#params(options), stream: true, stream_options: { include_usage: true } },
        { signal: options.abortSignal ?? null },
      )
      .withResponse();
    let id: string | undefined;
    let modelId: string | undefined;
    let finishReason: string | undefined;
    let usage: OpenAIChatCompletion['usage'] | undefined;
    let content = '';
    for await (const raw of chunks) {
      const parsed = openaiChatCompletionChunkSchema.safeParse(raw);
      if (!parsed.success) throw malformedResponseError(this.provider, this.modelName, parsed.error, response.status);
      const chunk = parsed.data;
      id ??= chunk.id;
      modelId ??= chunk.model;
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      const text = choice?.delta?.content;
      if (text) {
        content += text;
        yield { type: 'text-delta', text };
      }
      if (choice?.finish_reason) finishReason = choice.finish_reason;
    }
    // No finish_reason: the stream was cut (or aborted: the SDK ends silently then); openStream says which.
    if (finishReason === undefined) return;
    const unified = mapOpenAIFinishReason(finishReason);
    if (unified === 'content-filter') throw this.#filtered(finishReason, response.status);
    yield {
      type: 'finish',
      finishReason: { unified, raw: finishReason },
      // OpenAI sends the usage chunk when asked; Ollama before 0.5.2 and some other OpenAI-compatible servers ignore
      // include_usage, so their usage is estimated (high) rather than recorded as zero.
      usage: usage ? convertOpenAIUsage(usage) : estimateUsage(this.provider, this.modelId, options, content),
      response: { id, modelId, headers: headersToRecord(response.headers) },
      latencyMs: Math.round(performance.now() - started),
      content,
    };
  }

  /**
   * The request body both calls send, without `stream`: the conversation as it is (Chat Completions takes system,
   * user and assistant turns in any order), with `system` as a leading system message.
   */
  #params(options: GenerateOptions): OpenAI.ChatCompletionCreateParamsNonStreaming {
    const messages: OpenAI.ChatCompletionMessageParam[] = [];
    if (options.system !== undefined) messages.push({ role: 'system', content: options.system });
    for (const message of conversationOf(options)) messages.push({ role: message.role, content: message.content });
    const stop = stopSequences(options);
    return {
      model: this.modelId,
      messages,
      [this.#settings.maxTokensField]: options.maxOutputTokens,
      ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
      ...(options.topP === undefined ? {} : { top_p: options.topP }),
      ...(stop === undefined ? {} : { stop }),
    };
  }

  #classify(error: unknown, options: GenerateOptions): ProviderError {
    return classifyOpenAIError(error, {
      provider: this.provider,
      model: this.modelName,
      aborted: options.abortSignal?.aborted ?? false,
      apiKey: this.#settings.apiKey,
    });
  }

  #filtered(finishReason: string | null, status: number): ProviderError {
    return new ProviderError({
      provider: this.provider,
      model: this.modelName,
      kind: 'content_filter',
      statusCode: status,
      message: `${this.provider} stopped with ${finishReason}`,
    });
  }
}
