/**
 * Consecutive turns of the same role merged into one, their texts joined by a blank line. Anthropic requires user and
 * assistant turns to alternate and Gemini expects it, while an OpenAI-style conversation may hold two user turns in
 * a row (e.g. a question, then a document).
 */
export function mergeTurns<R extends string>(
  turns: readonly { role: R; content: string }[],
): { role: R; content: string }[] {
  const merged: { role: R; content: string }[] = [];
  for (const turn of turns) {
    const last = merged.at(-1);
    if (last?.role === turn.role) last.content = `${last.content}\n\n${turn.content}`;
    else merged.push({ role: turn.role, content: turn.content });
  }
  return merged;
}
