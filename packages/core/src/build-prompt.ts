/**
 * The user text a model receives for a task: the long context first, then the question about it. The worker sends
 * exactly this, and the pre-flight estimate counts exactly this, so the two can never disagree.
 */
export function buildPrompt(prompt: string, context: string | null | undefined): string {
  return context ? `${context}\n\n${prompt}` : prompt;
}
