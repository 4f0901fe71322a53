/**
 * Rough token count for routing and limits: ~4 characters per token for English text, the ratio the providers
 * themselves publish. Rounded up so that estimates err towards "does not fit" and "costs more".
 */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/**
 * Estimated input tokens of a task: system + prompt + context at ~4 chars per token, plus a small per-message
 * overhead. Provider-neutral and O(1) in practice; used for routing (context fit) and as the pre-flight estimate for
 * models without an offline tokenizer (see estimateInputTokens).
 */
export function estimateTaskInputTokens(task: {
  prompt: string;
  context?: string | undefined;
  system?: string | undefined;
  /** A conversation: every turn counts (the prompt is one of them, its last user turn). */
  messages?: ReadonlyArray<{ content: string }> | null | undefined;
}): number {
  const turns = task.messages?.length
    ? task.messages.reduce((sum, m) => sum + estimateTokens(m.content) + 4, 0)
    : estimateTokens(task.prompt);
  return turns + estimateTokens(task.context ?? '') + estimateTokens(task.system ?? '') + 8;
}
