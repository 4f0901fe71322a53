import { countTokens as cl100k } from 'gpt-tokenizer/encoding/cl100k_base';
import { countTokens as o200k } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { estimateInputTokens, estimateTaskInputTokens, openaiEncoding, TOKENIZE_MAX_CHARS } from '../src/index.ts';

const asText = { disallowedSpecial: new Set<string>() };
const gpt5 = { provider: 'openai', model_id: 'gpt-5' } as const;

describe('estimateInputTokens', () => {
  it("OpenAI: equals gpt-tokenizer's count of the messages sent, plus the chat format's tokens", () => {
    const task = {
      system: 'You are a careful analyst. Answer in British English.',
      context: 'Quarterly revenue rose 12% to €4.2bn; see table 3 <|endoftext|> for the split by region.',
      prompt: 'Which region grew fastest, and why?',
    };
    const user = `${task.context}\n\n${task.prompt}`;
    // 3 tokens per message (system, user) + 3 priming the reply.
    expect(estimateInputTokens(task, gpt5)).toBe(o200k(task.system, asText) + o200k(user, asText) + 3 + 3 + 3);
    expect(estimateInputTokens({ prompt: task.prompt }, { provider: 'openai', model_id: 'gpt-4-0613' })).toBe(
      cl100k(task.prompt, asText) + 3 + 3,
    );
  });

  it('picks the encoding by model family', () => {
    for (const id of ['gpt-4o', 'gpt-4o-mini-2024-07-18', 'gpt-4.1', 'gpt-5', 'o3-mini', 'o4-mini', 'gpt-test']) {
      expect(openaiEncoding(id), id).toBe('o200k_base');
    }
    for (const id of ['gpt-4', 'gpt-4-turbo', 'gpt-4-0613', 'gpt-3.5-turbo', 'ft:gpt-3.5-turbo:acme::abc']) {
      expect(openaiEncoding(id), id).toBe('cl100k_base');
    }
  });

  it('other providers: chars/4 rounded up plus per-message overhead', () => {
    const task = { prompt: 'x'.repeat(401), system: 'abc' };
    for (const provider of ['anthropic', 'google', 'ollama'] as const) {
      expect(estimateInputTokens(task, { provider, model_id: 'm' })).toBe(101 + 1 + 8);
    }
    expect(estimateInputTokens(task, { provider: 'anthropic', model_id: 'm' })).toBe(estimateTaskInputTokens(task));
  });

  it('samples texts over TOKENIZE_MAX_CHARS instead of tokenizing them whole, within a few percent', () => {
    const paragraph =
      'Tokenizers split text into pieces; prose, numbers like 3.14159 and code such as `const x = f(y);` differ. ';
    const big = paragraph.repeat(Math.ceil((TOKENIZE_MAX_CHARS * 5) / paragraph.length));
    const exact = o200k(big, asText) + 6;
    const estimate = estimateInputTokens({ prompt: big }, gpt5);
    expect(Math.abs(estimate / exact - 1)).toBeLessThan(0.02);
  });
});
