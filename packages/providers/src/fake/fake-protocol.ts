import type { FakeErrorPreset } from './fake-step.ts';

/** Which provider a request spoke to (the URL decides). */
export type FakeProvider = 'anthropic' | 'openai' | 'google' | 'ollama';

/** How a step's finish is rendered. */
export type FakeFinish = 'stop' | 'length' | 'content_filter';

/** What the server needs from a request body, and what it logs of it. */
export interface FakeRequest {
  model: string;
  /** Text of the last user message: the default answer quotes its start. */
  prompt: string;
  /** All text sent (system + messages), for the ~4 chars/token input estimate. */
  inputChars: number;
  /** The client asked for a streamed answer (`stream: true`, or Gemini's streamGenerateContent URL). */
  stream: boolean;
  /** A streamed answer ends with usage: always for Anthropic and Gemini, on request (include_usage) for OpenAI. */
  includeUsage: boolean;
  /** The conversation exactly as received, in the provider's wire shape (`messages`, Gemini's `contents`). */
  messages: unknown;
  /** Anthropic's `system`, Gemini's `systemInstruction`; null for Chat Completions (system turns are messages). */
  system: unknown;
  /** The rest of the body (max tokens, sampling, stop, stream options …), with the provider's own field names. */
  params: Record<string, unknown>;
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
  /** What a streamed answer sends before its first delta ('' for none). */
  streamHead(reply: FakeReply): string;
  /** One text delta of a streamed answer, as one server-sent event. */
  streamDelta(reply: FakeReply, text: string): string;
  /** What a streamed answer sends after its last delta: the finish, usage (when asked for) and end marker. */
  streamTail(reply: FakeReply, includeUsage: boolean): string;
  /** The provider's error event inside a stream that began as a 200. */
  streamError(preset: FakeErrorPreset): string;
  /** A stream whose events cannot be used: not JSON, or JSON of the wrong shape. */
  malformedStream(variant: 'not-json' | 'wrong-shape'): string;
}

/** One server-sent event: an optional event name and one JSON (or raw) data line. */
export function sseEvent(data: unknown, event?: string, separator = '\n\n'): string {
  const line = `data: ${typeof data === 'string' ? data : JSON.stringify(data)}`;
  return `${event === undefined ? '' : `event: ${event}\n`}${line}${separator}`;
}

/** A request body without the keys the log keeps apart (the conversation), for FakeRequest.params. */
export function paramsOf(request: Record<string, unknown>, apart: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(request).filter(([key]) => !apart.includes(key)));
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
