import type Anthropic from '@anthropic-ai/sdk';
import type { GenerateOptions } from '../language-model.ts';
import { mergeTurns } from '../shared/merge-turns.ts';
import { splitSystem } from '../shared/split-system.ts';

/**
 * Text of the user turn put before a conversation that starts with an assistant turn. The Messages API rejects a
 * first turn that is not the user's and rejects empty text, so something must stand there; it says only that the
 * conversation began earlier.
 */
export const LEADING_USER_PLACEHOLDER = '(conversation continues)';

/**
 * A call's conversation in the Messages API's shape: `system` and every system message joined into the `system`
 * parameter (the API has no system turns), consecutive same-role turns merged (the API requires user and assistant
 * to alternate), and a placeholder user turn only when the conversation starts with the assistant.
 */
export function toAnthropicMessages(options: Pick<GenerateOptions, 'prompt' | 'messages' | 'system'>): {
  system: string | undefined;
  messages: Anthropic.MessageParam[];
} {
  const { system, turns } = splitSystem(options);
  const messages: Anthropic.MessageParam[] = mergeTurns(turns);
  if (messages[0]?.role === 'assistant') messages.unshift({ role: 'user', content: LEADING_USER_PLACEHOLDER });
  return { system, messages };
}
