import Anthropic from '@anthropic-ai/sdk';
import { ProviderError } from '@orchex/core';
import type { z } from 'zod';
import type { GenerateOptions, GenerateResult, LanguageModel, StreamPart } from '../language-model.ts';
import type { LanguageModelInit } from '../language-model-init.ts';
import { headersToRecord } from '../shared/headers-to-record.ts';
import { malformedResponseError } from '../shared/malformed-response-error.ts';
import { missingKeyError } from '../shared/missing-key-error.ts';
import { noTimeoutFetchOptions, SDK_TIMEOUT_MS } from '../shared/no-timeout-dispatcher.ts';
import { openStream, type PartSource } from '../shared/open-stream.ts';
import { parseEnv } from '../shared/parse-env.ts';
import { resolveConnection } from '../shared/resolve-connection.ts';
import { stopSequences } from '../shared/stop-sequences.ts';
import { anthropicOptionsSchema } from './anthropic-options.ts';
import { type AnthropicDeltaUsage, anthropicStreamSchemas } from './anthropic-stream-schema.ts';
import { type AnthropicMessage, anthropicMessageSchema } from './anthropic-wire-schema.ts';
import { classifyAnthropicError } from './classify-error.ts';
import { convertAnthropicUsage } from './convert-usage.ts';
import { mapAnthropicFinishReason } from './map-finish-reason.ts';
import { mergeStreamUsage } from './merge-stream-usage.ts';
import { toAnthropicMessages } from './to-anthropic-messages.ts';

/** A Claude model through @anthropic-ai/sdk's Messages API, whole (doGenerate) or streamed (doStream). */
export class AnthropicLanguageModel implements LanguageModel {
  readonly provider = 'anthropic';
  readonly modelName: string;
  readonly modelId: string;
  readonly #apiKey: string | undefined;
  readonly #keyVariable: string;
  readonly #client: Anthropic | undefined;

  constructor(init: LanguageModelInit) {
    this.modelName = init.modelName;
    this.modelId = init.modelId;
    const options = resolveConnection(init, parseEnv(anthropicOptionsSchema, init.env), 'ANTHROPIC_API_KEY');
    this.#apiKey = options.apiKey;
    this.#keyVariable = options.keyVariable;
    // Without a key the SDK would fall back to profiles on disk; we want the attempt to fail plainly instead.
    this.#client =
      options.apiKey === undefined
        ? undefined
        : new Anthropic({
            apiKey: options.apiKey,
            // Otherwise the SDK would also send ANTHROPIC_AUTH_TOKEN from process.env, ignoring our env.
            authToken: null,
            baseURL: options.baseURL,
            ...(options.headers ? { defaultHeaders: options.headers } : {}),
            ...(options.query ? { defaultQuery: options.query } : {}),
            // The queue owns retries so that every attempt is seen and recorded.
            maxRetries: 0,
            // The SDK logs an unparseable stream event's data, which is answer text; logs must not hold any.
            logLevel: 'off',
            timeout: SDK_TIMEOUT_MS,
            fetchOptions: noTimeoutFetchOptions,
          });
  }

  async doGenerate(options: GenerateOptions): Promise<GenerateResult> {
    if (!this.#client) throw missingKeyError(this.provider, this.modelName, this.#keyVariable);
    const started = performance.now();
    let body: unknown;
    let response: Response;
    try {
      ({ data: body, response } = await this.#client.messages
        .create(this.#params(options), { signal: options.abortSignal ?? null })
        .withResponse());
    } catch (error) {
      throw this.#classify(error, options);
    }
    const latencyMs = Math.round(performance.now() - started);

    const parsed = anthropicMessageSchema.safeParse(body);
    if (!parsed.success) throw malformedResponseError(this.provider, this.modelName, parsed.error, response.status);
    const message = parsed.data;
    const unified = mapAnthropicFinishReason(message.stop_reason);
    // A refusal is not an answer: the fallback chain decides where to go next.
    if (unified === 'content-filter') throw this.#refusal(message.stop_reason, response.status);
    return {
      content: message.content.map((block) => (block.type === 'text' ? (block.text ?? '') : '')).join(''),
      finishReason: { unified, raw: message.stop_reason ?? undefined },
      usage: convertAnthropicUsage(message.usage),
      response: { id: message.id, modelId: message.model, headers: headersToRecord(response.headers) },
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

  /** The raw event stream (`create({stream: true})`), read event by event; see openStream for the failure rules. */
  async *#streamParts(options: GenerateOptions): PartSource {
    if (!this.#client) throw missingKeyError(this.provider, this.modelName, this.#keyVariable);
    const started = performance.now();
    const { data: events, response } = await this.#client.messages
      .create({ ...this.#params(options), stream: true }, { signal: options.abortSignal ?? null })
      .withResponse();
    const read = <S extends z.ZodType>(schema: S, event: unknown): z.output<S> => {
      const parsed = schema.safeParse(event);
      if (!parsed.success) throw malformedResponseError(this.provider, this.modelName, parsed.error, response.status);
      return parsed.data;
    };
    let start: Pick<AnthropicMessage, 'id' | 'model' | 'usage'> | undefined;
    let stopReason: string | null = null;
    let deltaUsage: AnthropicDeltaUsage | undefined;
    let content = '';
    let stopped = false;
    for await (const event of events) {
      switch (event.type) {
        case 'message_start':
          start = read(anthropicStreamSchemas.message_start, event).message;
          break;
        case 'content_block_delta': {
          const { delta } = read(anthropicStreamSchemas.content_block_delta, event);
          if (delta.type === 'text_delta' && delta.text) {
            content += delta.text;
            yield { type: 'text-delta', text: delta.text };
          }
          break;
        }
        case 'message_delta': {
          const parsed = read(anthropicStreamSchemas.message_delta, event);
          stopReason = parsed.delta.stop_reason;
          deltaUsage = parsed.usage;
          break;
        }
        case 'message_stop':
          stopped = true;
          break;
        default:
          // content_block_start/stop carry no text of their own; events added later are not read.
          break;
      }
    }
    // Without message_stop the stream was cut (or aborted: the SDK ends silently then); openStream says which.
    if (!stopped) return;
    if (!start) throw this.#malformed('the stream had no message_start event', response.status);
    const unified = mapAnthropicFinishReason(stopReason);
    if (unified === 'content-filter') throw this.#refusal(stopReason, response.status);
    yield {
      type: 'finish',
      finishReason: { unified, raw: stopReason ?? undefined },
      usage: convertAnthropicUsage(mergeStreamUsage(start.usage, deltaUsage)),
      response: { id: start.id, modelId: start.model, headers: headersToRecord(response.headers) },
      latencyMs: Math.round(performance.now() - started),
      content,
    };
  }

  /** The request body both calls send, without `stream`. */
  #params(options: GenerateOptions): Anthropic.MessageCreateParamsNonStreaming {
    const { system, messages } = toAnthropicMessages(options);
    const stop = stopSequences(options);
    return {
      model: this.modelId,
      max_tokens: options.maxOutputTokens,
      messages,
      ...(system === undefined ? {} : { system }),
      ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
      ...(options.topP === undefined ? {} : { top_p: options.topP }),
      ...(stop === undefined ? {} : { stop_sequences: stop }),
    };
  }

  #classify(error: unknown, options: GenerateOptions): ProviderError {
    return classifyAnthropicError(error, {
      model: this.modelName,
      aborted: options.abortSignal?.aborted ?? false,
      apiKey: this.#apiKey,
    });
  }

  #refusal(stopReason: string | null, status: number): ProviderError {
    return new ProviderError({
      provider: this.provider,
      model: this.modelName,
      kind: 'content_filter',
      statusCode: status,
      message: `anthropic stopped with ${stopReason}`,
    });
  }

  #malformed(what: string, status: number): ProviderError {
    return new ProviderError({
      provider: this.provider,
      model: this.modelName,
      kind: 'malformed_response',
      statusCode: status,
      message: `anthropic ${what}`,
    });
  }
}
