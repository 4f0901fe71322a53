import { estimateInputTokens, makeUsage, type Usage } from '@orchex/core';
import type { GenerateOptions } from '../language-model.ts';
import { splitSystem } from './split-system.ts';

/**
 * Usage of a streamed call whose server reported none (Ollama before 0.5.2 and some OpenAI-compatible servers ignore
 * `stream_options.include_usage`): counted the way the budget's holds are (estimateInputTokens, which errs high), so
 * an attempt is never recorded as free. The output is counted with the same counter, framing overhead included.
 */
export function estimateUsage(
  provider: string,
  modelId: string,
  options: Pick<GenerateOptions, 'prompt' | 'messages' | 'system'>,
  content: string,
): Usage {
  const model = { provider, model_id: modelId };
  const { system, turns } = splitSystem(options);
  const input = estimateInputTokens({ prompt: turns.map((t) => t.content).join('\n\n'), system }, model);
  return makeUsage({ input, output: estimateInputTokens({ prompt: content }, model) });
}
