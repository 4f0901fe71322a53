import Anthropic from '@anthropic-ai/sdk';
import { ProviderError } from '@orchex/core';
import type { GenerateOptions, GenerateResult, LanguageModel } from '../language-model.ts';
import type { LanguageModelInit } from '../language-model-init.ts';
import { headersToRecord } from '../shared/headers-to-record.ts';
import { malformedResponseError } from '../shared/malformed-response-error.ts';
import { missingKeyError } from '../shared/missing-key-error.ts';
import { noTimeoutFetchOptions, SDK_TIMEOUT_MS } from '../shared/no-timeout-dispatcher.ts';
import { parseEnv } from '../shared/parse-env.ts';
import { resolveConnection } from '../shared/resolve-connection.ts';
import { anthropicOptionsSchema } from './anthropic-options.ts';
import { anthropicMessageSchema } from './anthropic-wire-schema.ts';
import { classifyAnthropicError } from './classify-error.ts';
import { convertAnthropicUsage } from './convert-usage.ts';
import { mapAnthropicFinishReason } from './map-finish-reason.ts';

/** A Claude model through @anthropic-ai/sdk's Messages API (non-streaming). */
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
        .create(
          {
            model: this.modelId,
            max_tokens: options.maxOutputTokens,
            messages: [{ role: 'user', content: options.prompt }],
            ...(options.system === undefined ? {} : { system: options.system }),
            ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
          },
          { signal: options.abortSignal ?? null },
        )
        .withResponse());
    } catch (error) {
      throw classifyAnthropicError(error, {
        model: this.modelName,
        aborted: options.abortSignal?.aborted ?? false,
        apiKey: this.#apiKey,
      });
    }
    const latencyMs = Math.round(performance.now() - started);

    const parsed = anthropicMessageSchema.safeParse(body);
    if (!parsed.success) throw malformedResponseError(this.provider, this.modelName, parsed.error, response.status);
    const message = parsed.data;
    const unified = mapAnthropicFinishReason(message.stop_reason);
    if (unified === 'content-filter') {
      // A refusal is not an answer: the fallback chain decides where to go next.
      throw new ProviderError({
        provider: this.provider,
        model: this.modelName,
        kind: 'content_filter',
        statusCode: response.status,
        message: `anthropic stopped with ${message.stop_reason}`,
      });
    }
    return {
      content: message.content.map((block) => (block.type === 'text' ? (block.text ?? '') : '')).join(''),
      finishReason: { unified, raw: message.stop_reason ?? undefined },
      usage: convertAnthropicUsage(message.usage),
      response: { id: message.id, modelId: message.model, headers: headersToRecord(response.headers) },
      latencyMs,
    };
  }
}
