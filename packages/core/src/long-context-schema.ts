import { z } from 'zod';

/** Default map prompt; {index}, {count} and {prompt} are filled in, the chunk goes in as the context. */
export const DEFAULT_MAP_PROMPT =
  'You are reading part {index} of {count} of a long document (the text above). ' +
  'Answer the task below using only this part. Quote or list every relevant fact; if the part has nothing relevant, say "nothing relevant".\n\n' +
  'Task: {prompt}';

/** Default reduce prompt; {count}, {prompt} and {notes} (the parts' answers, numbered, in order) are filled in. */
export const DEFAULT_REDUCE_PROMPT =
  'A long document was read in {count} consecutive parts, and the task below was answered for each part separately. ' +
  'Combine these partial answers into one complete answer to the task. Resolve overlaps and contradictions; do not mention the parts.\n\n' +
  'Task: {prompt}\n\n{notes}';

/** How a task whose input fits no model of its plan is split (map) and reassembled (reduce). */
export const longContextSchema = z
  .object({
    /** Largest chunk in (estimated) tokens; the model's window minus output and prompt caps it further. Default 50000. */
    chunk_tokens: z.number().int().min(200).default(50_000),
    /** Tokens of the previous chunk repeated at the start of the next, so facts on a boundary are not cut. Default 200. */
    overlap_tokens: z.number().int().min(0).default(200),
    /** Output limit of each map part. Default 1024. */
    map_max_tokens: z.number().int().positive().default(1024),
    /** Template of each map part's prompt. */
    map_prompt: z.string().includes('{prompt}', { message: 'must contain {prompt}' }).default(DEFAULT_MAP_PROMPT),
    /** Template of the reduce part's prompt. */
    reduce_prompt: z
      .string()
      .includes('{prompt}', { message: 'must contain {prompt}' })
      .includes('{notes}', { message: 'must contain {notes}' })
      .default(DEFAULT_REDUCE_PROMPT),
  })
  .strict();

/** The parsed long_context section. */
export type LongContextConfig = z.output<typeof longContextSchema>;

/** Fills `{name}` placeholders; unknown placeholders stay as they are. */
export function fillTemplate(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (Object.hasOwn(values, k) ? String(values[k]) : m));
}
