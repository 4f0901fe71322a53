import type { GenerateOptions } from '../language-model.ts';
import { conversationOf } from './conversation-of.ts';

/** A conversation without its system messages, for providers that take system text as a parameter of its own. */
export interface SplitConversation {
  /** `system`, then every system message in order, joined by blank lines; undefined when there is none. */
  system: string | undefined;
  /** The user and assistant turns, in order, as given (not merged). */
  turns: { role: 'user' | 'assistant'; content: string }[];
}

/**
 * Pulls the system text out of a call for Anthropic (`system`) and Gemini (`systemInstruction`), which accept
 * instructions only there, not as turns. A system message in the middle of a conversation loses its position; both
 * APIs have no way to keep it.
 */
export function splitSystem(options: Pick<GenerateOptions, 'prompt' | 'messages' | 'system'>): SplitConversation {
  const system: string[] = options.system === undefined ? [] : [options.system];
  const turns: SplitConversation['turns'] = [];
  for (const message of conversationOf(options)) {
    if (message.role === 'system') system.push(message.content);
    else turns.push({ role: message.role, content: message.content });
  }
  return { system: system.length === 0 ? undefined : system.join('\n\n'), turns };
}
