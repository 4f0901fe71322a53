import type { TaskType } from './vocabulary.ts';

/** Inputs longer than this (estimated tokens) are long_context whatever they say. */
export const LONG_CONTEXT_TOKENS = 50_000;

const CODE =
  /```|\b(function|def|class|regex|compile|stack ?trace|refactor|bug|typescript|javascript|python|rust|golang|sql|api endpoint|unit tests?)\b/i;
const RESEARCH = /\b(research|literature|survey|sources|citations?|state of the art|recent advances|summari[sz]e)\b/i;
const CREATIVE = /\b(story|poem|haiku|lyrics|novel|fiction|creative|slogan|screenplay)\b/i;
const ANALYSIS = /\b(analy[sz]e|analysis|compare|evaluate|assess|trade-?offs?|pros and cons|why)\b/i;

/**
 * The documented heuristic used when a task has no task_type (first match wins):
 * 1. estimated input over LONG_CONTEXT_TOKENS → long_context;
 * 2. a code fence or programming words → code;
 * 3. creative-writing words → creative;
 * 4. research words → research;
 * 5. analysis words → analysis;
 * 6. fewer than 12 words → simple;
 * 7. otherwise undefined (the default model is used).
 */
export function classifyTask(prompt: string, inputTokens: number): { type: TaskType | undefined; why: string } {
  if (inputTokens > LONG_CONTEXT_TOKENS)
    return { type: 'long_context', why: `input ~${inputTokens} tokens > ${LONG_CONTEXT_TOKENS}` };
  if (CODE.test(prompt)) return { type: 'code', why: 'code fence or programming keyword' };
  if (CREATIVE.test(prompt)) return { type: 'creative', why: 'creative-writing keyword' };
  if (RESEARCH.test(prompt)) return { type: 'research', why: 'research keyword' };
  if (ANALYSIS.test(prompt)) return { type: 'analysis', why: 'analysis keyword' };
  const words = prompt.trim().split(/\s+/).length;
  if (words < 12) return { type: 'simple', why: `short prompt (${words} words)` };
  return { type: undefined, why: 'no keyword matched' };
}
