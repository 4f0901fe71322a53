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

  // Budget holds use these estimates: an undercount lets concurrent tasks overspend. Each script, as text a user
  // might send, against OpenAI's two encodings as the references we have offline.
  const SCRIPTS: Record<string, string> = {
    english: 'The committee reviewed the quarterly figures and agreed to postpone the vote until the auditors report. ',
    code: 'export const f = (xs: number[]): Map<string, number> => new Map(xs.map((x, i) => [`k${i}`, x ** 2]));\n',
    chinese: '量子纠缠是量子力学中的一种现象，两个粒子无论相距多远，其状态都相互关联。研究人员正在探索其应用。',
    japanese: '量子もつれは、二つの粒子が離れていても状態が関連し合う現象です。研究者たちは応用を探っています。',
    korean: '양자 얽힘은 두 입자가 아무리 멀리 떨어져 있어도 상태가 서로 연결되는 현상입니다. 연구가 진행 중입니다.',
    cyrillic:
      'Квантовая запутанность — явление, при котором состояния частиц остаются связанными на любом расстоянии. ',
    arabic: 'التشابك الكمي ظاهرة تبقى فيها حالات الجسيمات مترابطة مهما كانت المسافة بينها. يدرس الباحثون تطبيقاتها. ',
    hindi: 'क्वांटम उलझाव एक ऐसी घटना है जिसमें कण दूर होने पर भी जुड़े रहते हैं। शोधकर्ता इसके उपयोग खोज रहे हैं। ',
    emoji: '🚀🔥 launch day! 👩‍💻👨‍👩‍👧‍👦 🎉🎉🎉 ✅ shipped 🇯🇵🇧🇷 ❤️‍🔥 😀😃😄😁😆😅🤣😂 ',
    base64: 'U29tZSByYW5kb20gYmluYXJ5IGRhdGEgZW5jb2RlZCBhcyBiYXNlNjQ6IDNmYTljMmU4YjdkMTA0NWE2ZjMy+/Zx9Qw==',
    whitespace: ' \n\t  \n\n    \t\t   ',
  };

  it.each(Object.entries(SCRIPTS))('other providers never undercount by more than 10%%: %s', (_script, sample) => {
    for (const text of [
      sample,
      sample.repeat(50),
      sample.repeat(Math.ceil((TOKENIZE_MAX_CHARS * 1.5) / sample.length)),
    ]) {
      const reference = Math.max(o200k(text, asText), cl100k(text, asText));
      for (const provider of ['anthropic', 'google', 'ollama'] as const) {
        const estimate = estimateInputTokens({ prompt: text }, { provider, model_id: 'm' });
        expect(estimate, `${provider}, ${text.length} chars`).toBeGreaterThanOrEqual(0.9 * reference);
        // Conservative, not absurd: a hold far above the real count would refuse tasks that fit.
        expect(estimate, `${provider}, ${text.length} chars`).toBeLessThanOrEqual(1.5 * reference + 16);
      }
    }
  });

  it('chars/4, the old figure, would undercount CJK and emoji several times over', () => {
    for (const script of ['chinese', 'emoji'] as const) {
      const text = SCRIPTS[script] as string;
      expect(estimateTaskInputTokens({ prompt: text })).toBeLessThan(0.6 * cl100k(text, asText));
    }
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
