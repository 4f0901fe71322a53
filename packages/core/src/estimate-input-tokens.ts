import { createRequire } from 'node:module';
import { buildPrompt } from './build-prompt.ts';
import type { ModelConfig } from './config-schema.ts';
import { estimateTaskInputTokens } from './estimate-tokens.ts';

/** The parts of a task that become model input. */
export interface EstimableTask {
  prompt: string;
  context?: string | null | undefined;
  system?: string | null | undefined;
}

/**
 * Texts up to this many characters are tokenized whole; longer ones are sampled (see countSampled). Measured with
 * gpt-tokenizer 4 (o200k_base, mixed Markdown/code/prose) on a 2-core machine: ~0.2 µs per character once warm, so
 * 100K characters hold the API's event loop for ~20 ms (up to ~80 ms under load), while the largest context (10M
 * characters) would take 2–4 s.
 */
export const TOKENIZE_MAX_CHARS = 100_000;
/** Slices a long text is sampled in; together they are TOKENIZE_MAX_CHARS long. */
const SAMPLE_SLICES = 10;
/**
 * Longest piece handed to the tokenizer at once. gpt-tokenizer's merge step is quadratic in the length of one
 * pre-token, and text without spaces (CJK, Cyrillic runs, emoji, a run of one character) is one long pre-token:
 * measured on 10,000 characters, 0.2–0.4 s per call, and 100,000 spaces took 5 s. In windows of 500 characters the
 * time is linear, and each cut adds at most about one token (an overcount, the safe side for a cost estimate).
 */
const TOKENIZE_WINDOW = 500;
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
    count = (text) => countInWindows(text, (piece) => mod.countTokens(piece, asText));
    counters.set(encoding, count);
  }
  return count;
}

/**
 * Tokens of `text` counted in windows of at most TOKENIZE_WINDOW characters, each ending before a whitespace
 * character when there is one in its second half (where a pre-token starts anyway), else at the window's end
 * (never between the two halves of a surrogate pair).
 */
function countInWindows(text: string, count: CountTokens): number {
  if (text.length <= TOKENIZE_WINDOW) return count(text);
  let tokens = 0;
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + TOKENIZE_WINDOW, text.length);
    if (end < text.length) {
      let cut = end;
      while (cut > start + TOKENIZE_WINDOW / 2 && !/\s/.test(text.charAt(cut))) cut--;
      if (cut > start + TOKENIZE_WINDOW / 2) end = cut;
      else if (isHighSurrogate(text.charCodeAt(end - 1))) end--;
    }
    tokens += count(text.slice(start, end));
    start = end;
  }
  return tokens;
}

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;

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
  for (const m of models) if (m.provider === 'openai') counter(openaiEncoding(m.model_id));
}

/**
 * Input tokens a task will have on `model`, for the pre-flight cost estimate. OpenAI models: counted with the
 * model's real encoding (gpt-tokenizer) over the exact messages the adapter sends, plus the chat format's per-message
 * tokens; texts over TOKENIZE_MAX_CHARS are sampled. Other providers (Anthropic, Gemini, Ollama): chars/4 rounded up
 * plus a per-message overhead (estimateTaskInputTokens) — their tokenizers are not available offline, and their
 * count endpoints would add a network round trip (and a failure mode) to every submit.
 */
export function estimateInputTokens(task: EstimableTask, model: Pick<ModelConfig, 'provider' | 'model_id'>): number {
  if (model.provider !== 'openai') {
    return estimateTaskInputTokens({
      prompt: task.prompt,
      context: task.context ?? undefined,
      system: task.system ?? undefined,
    });
  }
  const count = counter(openaiEncoding(model.model_id));
  const user = buildPrompt(task.prompt, task.context);
  let tokens = countSampled(user, count) + OPENAI_TOKENS_PER_MESSAGE + OPENAI_REPLY_PRIMING;
  if (task.system != null) tokens += countSampled(task.system, count) + OPENAI_TOKENS_PER_MESSAGE;
  return tokens;
}
