import { type GenerateContentParameters, GoogleGenAI } from '@google/genai';
import { ProviderError } from '@orchex/core';
import type { GenerateOptions, GenerateResult, LanguageModel, StreamPart } from '../language-model.ts';
import type { LanguageModelInit } from '../language-model-init.ts';
import { estimateUsage } from '../shared/estimate-usage.ts';
import { headersToRecord } from '../shared/headers-to-record.ts';
import { malformedResponseError } from '../shared/malformed-response-error.ts';
import { missingKeyError } from '../shared/missing-key-error.ts';
import { openStream, type PartSource } from '../shared/open-stream.ts';
import { parseEnv } from '../shared/parse-env.ts';
import { resolveConnection } from '../shared/resolve-connection.ts';
import { stopSequences } from '../shared/stop-sequences.ts';
import { classifyGoogleError } from './classify-error.ts';
import { convertGoogleUsage } from './convert-usage.ts';
import { googleOptionsSchema } from './google-options.ts';
import { type GeminiResponse, geminiResponseSchema, geminiStreamChunkSchema } from './google-wire-schema.ts';
import { mapGoogleFinishReason } from './map-finish-reason.ts';
import { toGeminiContents } from './to-gemini-contents.ts';

type Candidate = NonNullable<GeminiResponse['candidates']>[number];

/**
 * A Gemini model through @google/genai (the maintained successor of the deprecated @google/generative-ai), Gemini
 * API backend: generateContent (doGenerate) and streamGenerateContent (doStream).
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
      body = await this.#client.models.generateContent(this.#params(options));
    } catch (error) {
      throw this.#classify(error, options);
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
      content: answerText(candidate),
      finishReason: { unified, raw: candidate.finishReason },
      usage: convertGoogleUsage(result.usageMetadata),
      response: { id: result.responseId, modelId: result.modelVersion, headers: headersToRecord(headers) },
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

  /** `models.generateContentStream` (SSE), read chunk by chunk; see openStream for the failure rules. */
  async *#streamParts(options: GenerateOptions): PartSource {
    const client = this.#client;
    if (!client) throw missingKeyError(this.provider, this.modelName, this.#keyVariable);
    const started = performance.now();
    // @google/genai only releases the body's reader when its stream is left early, so the download would go on to
    // the end of the answer; the request gets a signal of its own, aborted when this generator ends.
    const own = new AbortController();
    const caller = options.abortSignal;
    const follow = () => own.abort(caller?.reason);
    if (caller?.aborted) follow();
    else caller?.addEventListener('abort', follow, { once: true });
    try {
      yield* this.#readStream(client, { ...options, abortSignal: own.signal }, started);
    } finally {
      caller?.removeEventListener('abort', follow);
      own.abort();
    }
  }

  /** The stream's chunks → parts; `options.abortSignal` is the request's own signal (see #streamParts). */
  async *#readStream(client: GoogleGenAI, options: GenerateOptions, started: number): PartSource {
    const chunks = await client.models.generateContentStream(this.#params(options));
    let finishReason: string | undefined;
    let usage: GeminiResponse['usageMetadata'] | undefined;
    let responseId: string | undefined;
    let modelVersion: string | undefined;
    let headers: Record<string, string> | undefined;
    let content = '';
    for await (const raw of chunks) {
      const parsed = geminiStreamChunkSchema.safeParse(raw);
      if (!parsed.success) throw malformedResponseError(this.provider, this.modelName, parsed.error, 200);
      const chunk = parsed.data;
      headers ??= (raw as { sdkHttpResponse?: { headers?: Record<string, string> } }).sdkHttpResponse?.headers;
      responseId ??= chunk.responseId;
      modelVersion ??= chunk.modelVersion;
      // Each chunk's usageMetadata is the whole call's so far; the last one is final.
      if (chunk.usageMetadata) usage = chunk.usageMetadata;
      const blockReason = chunk.promptFeedback?.blockReason;
      if (blockReason !== undefined) throw this.#contentFilter(`prompt blocked (${blockReason})`);
      const candidate = chunk.candidates?.[0];
      if (!candidate) continue;
      const text = answerText(candidate);
      if (text) {
        content += text;
        yield { type: 'text-delta', text };
      }
      if (candidate.finishReason) finishReason = candidate.finishReason;
    }
    // No finishReason: the stream was cut (or aborted); openStream says which.
    if (finishReason === undefined) return;
    const unified = mapGoogleFinishReason(finishReason);
    if (unified === 'content-filter') throw this.#contentFilter(`stopped with ${finishReason}`);
    yield {
      type: 'finish',
      finishReason: { unified, raw: finishReason },
      // Gemini always reports usage; a server that did not is estimated (high) rather than recorded as free.
      usage: usage ? convertGoogleUsage(usage) : estimateUsage(this.provider, this.modelId, options, content),
      response: { id: responseId, modelId: modelVersion, headers: headersToRecord(headers) },
      latencyMs: Math.round(performance.now() - started),
      content,
    };
  }

  /** The request both calls send. */
  #params(options: GenerateOptions): GenerateContentParameters {
    const { systemInstruction, contents } = toGeminiContents(options);
    const stop = stopSequences(options);
    return {
      model: this.modelId,
      contents,
      config: {
        maxOutputTokens: options.maxOutputTokens,
        ...(systemInstruction === undefined ? {} : { systemInstruction }),
        ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
        ...(options.topP === undefined ? {} : { topP: options.topP }),
        ...(stop === undefined ? {} : { stopSequences: stop }),
        abortSignal: options.abortSignal,
        // Continuation would silently turn one attempt into several requests.
        automaticContinuation: false,
      },
    };
  }

  #classify(error: unknown, options: GenerateOptions): ProviderError {
    return classifyGoogleError(error, {
      model: this.modelName,
      aborted: options.abortSignal?.aborted ?? false,
      apiKey: this.#apiKey,
    });
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

/** A candidate's answer text. Thought summaries are not part of the answer. */
function answerText(candidate: Candidate): string {
  return (candidate.content?.parts ?? []).map((part) => (part.thought ? '' : (part.text ?? ''))).join('');
}
