import { type ModelConfig, modelConfigSchema, ProviderError, type ProviderName } from '@orchex/core';
import type { StreamPart } from '@orchex/providers';

/** A minimal ModelConfig for one provider's model id. */
export function modelConfig(provider: ProviderName, modelId: string): ModelConfig {
  return modelConfigSchema.parse({
    provider,
    model_id: modelId,
    input_cost_per_1k: 0.001,
    output_cost_per_1k: 0.002,
    max_tokens: 200_000,
    rpm: 60,
    max_concurrency: 4,
  });
}

/** Keys long enough to be masked if an error ever echoed them. */
export const TEST_KEYS = {
  ANTHROPIC_API_KEY: 'test-anthropic-key-0123456789',
  OPENAI_API_KEY: 'test-openai-key-0123456789',
  GOOGLE_API_KEY: 'test-google-key-0123456789',
};

/** The rejection of `promise`, asserted to be a ProviderError. */
export async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw new Error(`expected a ProviderError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected the call to fail, it succeeded');
}

/** Polls until `check` holds (the fake server sees a client's abort a moment after the client does). */
export async function eventually(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Everything a stream yields, and the error it ended with (a ProviderError), if any. */
export async function drain(
  stream: AsyncIterable<StreamPart>,
): Promise<{ parts: StreamPart[]; deltas: string[]; error: ProviderError | undefined }> {
  const parts: StreamPart[] = [];
  try {
    for await (const part of stream) parts.push(part);
  } catch (error) {
    if (!(error instanceof ProviderError))
      throw new Error(`expected a ProviderError, got ${String(error)}`, { cause: error });
    return { parts, deltas: textDeltas(parts), error };
  }
  return { parts, deltas: textDeltas(parts), error: undefined };
}

const textDeltas = (parts: StreamPart[]) => parts.flatMap((p) => (p.type === 'text-delta' ? [p.text] : []));

/** The finish part of a stream's parts, asserted to be the last and only one. */
export function finishOf(parts: StreamPart[]): Extract<StreamPart, { type: 'finish' }> {
  const last = parts.at(-1);
  if (last?.type !== 'finish') throw new Error(`the stream did not end with a finish part: ${JSON.stringify(parts)}`);
  if (parts.filter((p) => p.type === 'finish').length !== 1) throw new Error('more than one finish part');
  return last;
}
