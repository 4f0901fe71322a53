import type { ChatMessage, GenerateOptions } from '../language-model.ts';

/** The turns a call sends: `messages` when given, else today's single user turn holding `prompt`. */
export function conversationOf(options: Pick<GenerateOptions, 'prompt' | 'messages'>): ChatMessage[] {
  return options.messages ?? [{ role: 'user', content: options.prompt }];
}
