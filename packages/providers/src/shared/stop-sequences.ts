import type { GenerateOptions } from '../language-model.ts';

/** Stop sequences worth sending: an empty list means "none", which some APIs reject rather than ignore. */
export function stopSequences(options: Pick<GenerateOptions, 'stop'>): string[] | undefined {
  return options.stop === undefined || options.stop.length === 0 ? undefined : options.stop;
}
