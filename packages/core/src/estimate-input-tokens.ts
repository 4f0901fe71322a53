import { createRequire } from 'node:module';
import { buildMessages } from './build-prompt.ts';
import type { ModelConfig } from './model-config-schema.ts';
import type { ChatMessage } from './task-schema.ts';

/** The parts of a task that become model input. */
export interface EstimableTask {
  prompt: string;
  context?: string | null | undefined;
  system?: string | null | undefined;
  /** A conversation instead of the prompt (see buildMessages). */
  messages?: readonly ChatMessage[] | null | undefined;
}

/**
 * Texts up to this many characters are tokenized whole; longer ones are sampled (see countSampled). Measured with
 * gpt-tokenizer 4 on a 2-core machine, in segments (countInSegments): 0.2–0.7 µs per character once warm (prose is
 * cheapest, emoji and CJK dearest), so 40K characters hold the API's event loop for 8–28 ms, while the largest
 * context (10M characters) would take seconds.
 */
export const TOKENIZE_MAX_CHARS = 40_000;
/** Slices a long text is sampled in; together they are TOKENIZE_MAX_CHARS long. */
const SAMPLE_SLICES = 8;
/** OpenAI chat format: each message costs its content plus 3 tokens, and the reply is primed with 3 more. */
const OPENAI_TOKENS_PER_MESSAGE = 3;
const OPENAI_REPLY_PRIMING = 3;

/** The BPE encodings orchex counts with. */
export type OpenAIEncoding = 'o200k_base' | 'cl100k_base';

/**
 * The encoding of an OpenAI model id: cl100k_base for GPT-3.5, GPT-4 and GPT-4 Turbo (and their fine-tunes);
 * o200k_base for gpt-4o, 4.1, 4.5, 5, the o-series — and any id not recognised, since every model OpenAI has
 * released since gpt-4o uses it.
 */
export function openaiEncoding(modelId: string): OpenAIEncoding {
  const id = modelId.toLowerCase().replace(/^ft:/, '');
  return /^(gpt-3\.5|gpt-35|gpt-4(-|$|:)|text-embedding-(3|ada))/.test(id) ? 'cl100k_base' : 'o200k_base';
}

type CountTokens = (text: string) => number;
const counters = new Map<OpenAIEncoding, CountTokens>();
const requireCjs = createRequire(import.meta.url);

/**
 * Loaded on first use, synchronously: an encoding's tables take ~0.2–0.4 s to load, which every process importing
 * @orchex/core (workers, CLI, tests) would otherwise pay at start for nothing. The API preloads (preloadTokenizers).
 */
function counter(encoding: OpenAIEncoding): CountTokens {
  let count = counters.get(encoding);
  if (!count) {
    const mod = requireCjs(`gpt-tokenizer/cjs/encoding/${encoding}`) as {
      countTokens(text: string, options: { disallowedSpecial: Set<string> }): number;
    };
    // User text is sent as text: "<|endoftext|>" in a prompt is ordinary characters to the API, not a special token.
    const asText = { disallowedSpecial: new Set<string>() };
    const whole = (text: string) => mod.countTokens(text, asText);
    count = (text) => countInSegments(text, whole);
    counters.set(encoding, count);
  }
  return count;
}

/** Longest piece handed to the tokenizer at once. */
const SEGMENT_CHARS = 256;
const isSpace = (c: number) =>
  c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x3000 || (c >= 0x2000 && c <= 0x200a);

/**
 * gpt-tokenizer's pre-tokenizer and BPE are quadratic in the length of one run without a word break: 20,000 CJK
 * characters took 3.4 s, 80,000 took 61 s, and long whitespace or punctuation runs behave alike — a few kilobytes of
 * hostile input could freeze the API. So the text is counted in pieces of at most SEGMENT_CHARS, cut right before a
 * space that starts a word where there is one (the tokenizer attaches that space to the next word, so such a cut
 * changes nothing), else hard. Linear time; a hard cut can add a token at most, which errs the safe way.
 */
function countInSegments(text: string, whole: (text: string) => number): number {
  if (text.length <= SEGMENT_CHARS) return whole(text);
  let tokens = 0;
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + SEGMENT_CHARS);
    if (end < text.length) {
      // The last word break in (start, end]: a space followed by a non-space.
      for (let i = end - 1; i > start; i--) {
        if (isSpace(text.charCodeAt(i)) && !isSpace(text.charCodeAt(i + 1))) {
          end = i;
          break;
        }
      }
      // Never split a surrogate pair.
      const c = text.charCodeAt(end - 1);
      if (c >= 0xd800 && c <= 0xdbff) end--;
    }
    tokens += whole(text.slice(start, end));
    start = end;
  }
  return tokens;
}

/**
 * Tokens of a long text from SAMPLE_SLICES evenly spaced slices (TOKENIZE_MAX_CHARS in all), scaled to its length:
 * bounded time (~TOKENIZE_MAX_CHARS' worth), and within a few percent (measured: 0.1–7 % on 0.2–10M characters of
 * mixed files) — chars/4 was off by 10–25 % on the same texts, and undercounts non-Latin scripts several times over.
 */
function countSampled(text: string, count: CountTokens): number {
  if (text.length <= TOKENIZE_MAX_CHARS) return count(text);
  const slice = TOKENIZE_MAX_CHARS / SAMPLE_SLICES;
  const stride = (text.length - slice) / (SAMPLE_SLICES - 1);
  let tokens = 0;
  for (let k = 0; k < SAMPLE_SLICES; k++) {
    const start = Math.floor(k * stride);
    tokens += count(text.slice(start, start + slice));
  }
  return Math.ceil((text.length * tokens) / TOKENIZE_MAX_CHARS);
}

/** Loads the encodings of the OpenAI models among `models`, so the first submit does not pay for it. */
export function preloadTokenizers(models: Iterable<Pick<ModelConfig, 'provider' | 'model_id'>>): void {
  for (const m of models) counter(m.provider === 'openai' ? openaiEncoding(m.model_id) : PROXY_ENCODING);
}

/**
 * Providers without an offline tokenizer are counted with cl100k_base — of OpenAI's encodings the one that spends
 * the most tokens on non-Latin scripts, emoji and code — times a margin for their own tokenizers, which are not
 * published: Claude's is reported to need 10–30% more tokens than OpenAI's on the same text; Gemini's and Llama's
 * large vocabularies are close to cl100k's. chars/4 was not safe: it undercounts CJK, Cyrillic and emoji several
 * times over, and a budget hold must not.
 */
const PROXY_ENCODING: OpenAIEncoding = 'cl100k_base';
const PROXY_MARGIN: Record<string, number> = { openai: 1, anthropic: 1.3, google: 1.1, ollama: 1.1 };
/** Providers a plugin adds: as cautious as the most cautious built-in margin. */
const PLUGIN_MARGIN = 1.3;
/** Message framing a provider adds around the text (role markers, system block). */
const PROXY_OVERHEAD = 8;

/**
 * Input tokens a task will have on `model`, for the pre-flight cost estimate. OpenAI models: counted with the
 * model's real encoding (gpt-tokenizer) over the exact messages the adapter sends, plus the chat format's per-message
 * tokens; texts over TOKENIZE_MAX_CHARS are sampled. Other providers (Anthropic, Gemini, Ollama): a conservative
 * bound, cl100k_base's count times a per-provider margin (PROXY_MARGIN) — their tokenizers are not available
 * offline, and their count endpoints would add a network round trip (and a failure mode) to every submit. Budget
 * holds and tpm reservations use this figure, so it errs towards more.
 */
export function estimateInputTokens(task: EstimableTask, model: Pick<ModelConfig, 'provider' | 'model_id'>): number {
  const turns = buildMessages(task);
  if (model.provider !== 'openai') {
    const count = counter(PROXY_ENCODING);
    let text = task.system != null ? countSampled(task.system, count) : 0;
    for (const m of turns) text += countSampled(m.content, count);
    return Math.ceil(text * (PROXY_MARGIN[model.provider] ?? PLUGIN_MARGIN)) + PROXY_OVERHEAD * turns.length;
  }
  const count = counter(openaiEncoding(model.model_id));
  let tokens = OPENAI_REPLY_PRIMING;
  for (const m of turns) tokens += countSampled(m.content, count) + OPENAI_TOKENS_PER_MESSAGE;
  if (task.system != null) tokens += countSampled(task.system, count) + OPENAI_TOKENS_PER_MESSAGE;
  return tokens;
}
