import type { ChatMessage } from './task-schema.ts';

/**
 * The user text a model receives for a task: the long context first, then the question about it. The worker sends
 * exactly this, and the pre-flight estimate counts exactly this, so the two can never disagree.
 */
export function buildPrompt(prompt: string, context: string | null | undefined): string {
  return context ? `${context}\n\n${prompt}` : prompt;
}

/**
 * The conversation a model receives for a task: its `messages` when it has them, else one user turn of buildPrompt;
 * a task's long `context` goes first in its last user turn. (`system` travels beside, as each provider places it.)
 */
export function buildMessages(task: {
  prompt: string;
  context?: string | null | undefined;
  messages?: readonly ChatMessage[] | null | undefined;
}): ChatMessage[] {
  if (!task.messages?.length) return [{ role: 'user', content: buildPrompt(task.prompt, task.context) }];
  if (!task.context) return [...task.messages];
  let last = -1;
  task.messages.forEach((m, i) => {
    if (m.role === 'user') last = i;
  });
  return task.messages.map((m, i) => (i === last ? { ...m, content: buildPrompt(m.content, task.context) } : m));
}
