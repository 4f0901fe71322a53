import { GoogleGenAI } from '@google/genai';
import { ProviderError } from '@orchex/core';
import type { GenerateOptions, GenerateResult, LanguageModel } from '../language-model.ts';
import type { LanguageModelInit } from '../language-model-init.ts';
import { headersToRecord } from '../shared/headers-to-record.ts';
import { malformedResponseError } from '../shared/malformed-response-error.ts';
import { missingKeyError } from '../shared/missing-key-error.ts';
import { parseEnv } from '../shared/parse-env.ts';
import { resolveConnection } from '../shared/resolve-connection.ts';
import { classifyGoogleError } from './classify-error.ts';
import { convertGoogleUsage } from './convert-usage.ts';
import { googleOptionsSchema } from './google-options.ts';
import { geminiResponseSchema } from './google-wire-schema.ts';
import { mapGoogleFinishReason } from './map-finish-reason.ts';

/**
 * A Gemini model through @google/genai (the maintained successor of the deprecated @google/generative-ai), Gemini
 * API backend, non-streaming generateContent.
 */
export class GoogleLanguageModel implements LanguageModel {
  readonly provider = 'google';
  readonly modelName: string;
  readonly modelId: string;
  readonly #apiKey: string | undefined;
  readonly #keyVariable: string;
  readonly #client: GoogleGenAI | undefined;

  constructor(init: LanguageModelInit) {
    this.modelName = init.modelName;
    this.modelId = init.modelId;
    const options = resolveConnection(init, parseEnv(googleOptionsSchema, init.env), 'GOOGLE_API_KEY');
    this.#apiKey = options.apiKey;
    this.#keyVariable = options.keyVariable;
    this.#client =
      options.apiKey === undefined
        ? undefined
        : new GoogleGenAI({
            apiKey: options.apiKey,
            // Explicit, so GOOGLE_GENAI_USE_VERTEXAI in the environment cannot switch backends behind our back.
            vertexai: false,
            // One HTTP attempt per call: the queue owns retries. No timeout: the caller's signal is the deadline.
            httpOptions: {
              baseUrl: options.baseURL,
              retryOptions: { attempts: 1 },
              ...(options.headers ? { headers: options.headers } : {}),
            },
          });
  }

  async doGenerate(options: GenerateOptions): Promise<GenerateResult> {
    if (!this.#client) throw missingKeyError(this.provider, this.modelName, this.#keyVariable);
    const started = performance.now();
    let body: unknown;
    try {
      body = await this.#client.models.generateContent({
        model: this.modelId,
        contents: [{ role: 'user', parts: [{ text: options.prompt }] }],
        config: {
          maxOutputTokens: options.maxOutputTokens,
          ...(options.system === undefined ? {} : { systemInstruction: options.system }),
          ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
          abortSignal: options.abortSignal,
          // Continuation would silently turn one attempt into several requests.
          automaticContinuation: false,
        },
      });
    } catch (error) {
      throw classifyGoogleError(error, {
        model: this.modelName,
        aborted: options.abortSignal?.aborted ?? false,
        apiKey: this.#apiKey,
      });
    }
    const latencyMs = Math.round(performance.now() - started);

    const parsed = geminiResponseSchema.safeParse(body);
    if (!parsed.success) throw malformedResponseError(this.provider, this.modelName, parsed.error, 200);
    const result = parsed.data;
    const blockReason = result.promptFeedback?.blockReason;
    if (blockReason !== undefined) throw this.#contentFilter(`prompt blocked (${blockReason})`);
    const candidate = result.candidates?.[0];
    if (!candidate) {
      throw new ProviderError({
        provider: this.provider,
        model: this.modelName,
        kind: 'malformed_response',
        statusCode: 200,
        message: 'google response has neither candidates nor promptFeedback.blockReason',
      });
    }
    const unified = mapGoogleFinishReason(candidate.finishReason);
    // A filtered answer is not an answer: the fallback chain decides where to go next.
    if (unified === 'content-filter') throw this.#contentFilter(`stopped with ${candidate.finishReason}`);
    const headers = (body as { sdkHttpResponse?: { headers?: Record<string, string> } }).sdkHttpResponse?.headers;
    return {
      // Thought summaries are not part of the answer.
      content: (candidate.content?.parts ?? []).map((part) => (part.thought ? '' : (part.text ?? ''))).join(''),
      finishReason: { unified, raw: candidate.finishReason },
      usage: convertGoogleUsage(result.usageMetadata),
      response: { id: result.responseId, modelId: result.modelVersion, headers: headersToRecord(headers) },
      latencyMs,
    };
  }

  #contentFilter(reason: string): ProviderError {
    return new ProviderError({
      provider: this.provider,
      model: this.modelName,
      kind: 'content_filter',
      statusCode: 200,
      message: `google ${reason}`,
    });
  }
}
