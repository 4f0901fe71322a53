import type { Content } from '@google/genai';
import type { GenerateOptions } from '../language-model.ts';
import { mergeTurns } from '../shared/merge-turns.ts';
import { splitSystem } from '../shared/split-system.ts';

/**
 * A call's conversation in the Gemini API's shape: roles `user` and `model`, `system` and every system message
 * joined into `systemInstruction` (Gemini has no system turns), consecutive same-role turns merged into one content
 * (Gemini expects the roles to alternate).
 */
export function toGeminiContents(options: Pick<GenerateOptions, 'prompt' | 'messages' | 'system'>): {
  systemInstruction: string | undefined;
  contents: Content[];
} {
  const { system, turns } = splitSystem(options);
  const contents = mergeTurns(turns).map(
    (turn): Content => ({ role: turn.role === 'assistant' ? 'model' : 'user', parts: [{ text: turn.content }] }),
  );
  return { systemInstruction: system, contents };
}
