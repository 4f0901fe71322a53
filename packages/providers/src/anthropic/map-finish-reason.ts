import type { UnifiedFinishReason } from '../language-model.ts';

/** Maps Anthropic's `stop_reason`; unknown values become "other" so a new reason never breaks a call. */
export function mapAnthropicFinishReason(raw: string | null | undefined): UnifiedFinishReason {
  switch (raw) {
    case 'end_turn':
    case 'stop_sequence':
    case 'pause_turn':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'refusal':
      return 'content-filter';
    case 'tool_use':
      return 'tool-calls';
    default:
      return 'other';
  }
}
