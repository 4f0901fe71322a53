import type { UnifiedFinishReason } from '../language-model.ts';

/** Maps Chat Completions' `finish_reason`; unknown values become "other". */
export function mapOpenAIFinishReason(raw: string | null | undefined): UnifiedFinishReason {
  switch (raw) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'content_filter':
      return 'content-filter';
    case 'tool_calls':
    case 'function_call':
      return 'tool-calls';
    default:
      return 'other';
  }
}
