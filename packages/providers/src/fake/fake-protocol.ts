import type { FakeErrorPreset } from './fake-step.ts';

/** Which provider a request spoke to (the URL decides). */
export type FakeProvider = 'anthropic' | 'openai' | 'google' | 'ollama';

/** How a step's finish is rendered. */
export type FakeFinish = 'stop' | 'length' | 'content_filter';

/** What the server needs from a request body. */
export interface FakeRequest {
  model: string;
  /** Text of the last user message: the default answer quotes its start. */
  prompt: string;
  /** All text sent (system + messages), for the ~4 chars/token input estimate. */
  inputChars: number;
}

/** A resolved answer, in orchex's normalised usage terms. */
export interface FakeReply {
  id: string;
  model: string;
  text: string;
  finish: FakeFinish;
  usage: {
    input: number;
    output: number;
    cacheRead: number;
    cacheWrite: number;
    cacheWrite1h: number;
    reasoning: number;
  };
}

/** One provider's wire format, as the fake server speaks it. */
export interface FakeProtocol {
  readonly provider: FakeProvider;
  /** Undefined when the body is not a request of this protocol. `pathModel` comes from the URL (Gemini). */
  parseRequest(body: unknown, pathModel: string | undefined): FakeRequest | undefined;
  okResponse(reply: FakeReply): { headers: Record<string, string>; body: unknown };
  errorBody(preset: FakeErrorPreset, status: number, retryAfterMs: number | undefined): unknown;
}

/** Text of a message content in any of the shapes the SDKs send: a string or a list of `{text}` parts. */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (part && typeof part === 'object' && typeof part.text === 'string' ? part.text : ''))
    .join('');
}

/** The record a JSON body is, or undefined. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
