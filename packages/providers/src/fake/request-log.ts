import type { FakeProvider, FakeRequest } from './fake-protocol.ts';

/**
 * How a request ended: as scripted ("cut": a stream broken by a cut step), or "aborted" when the client gave up
 * before the whole answer was sent.
 */
export type FakeOutcome = 'pending' | 'ok' | 'error' | 'malformed' | 'raw' | 'reset' | 'hang' | 'cut' | 'aborted';

/** One model request the fake server received. Times are Date.now() ms, so logs from several processes compare. */
export interface FakeLogEntry {
  /** Arrival order, from 1. */
  seq: number;
  provider: FakeProvider;
  model: string;
  path: string;
  /** When the request arrived. */
  startedAt: number;
  /** When the answer was sent, the socket destroyed, or the client went away; null while in flight. */
  finishedAt: number | null;
  /** HTTP status sent; null while in flight and for hang/reset/aborted. */
  status: number | null;
  outcome: FakeOutcome;
  /** Requests of this model in flight when this one arrived, itself included. */
  inFlightAtStart: number;
  /** Usage reported in a successful answer; null otherwise. */
  inputTokens: number | null;
  outputTokens: number | null;
  /** The API key the request carried (x-api-key, Bearer, or x-goog-api-key), so tests can tell accounts apart. */
  apiKey: string | null;
  /** Every request header, lower-cased. */
  headers: Record<string, string>;
  // The fields below are set on every entry the server logs. They are optional in the type only so that entries built
  // by hand before they existed (test/chaos/account-calls.test.ts) still type-check.
  /** The client asked for a streamed answer. */
  stream?: boolean;
  /**
   * The conversation as received, in the provider's wire shape: Anthropic's and Chat Completions' `messages`,
   * Gemini's `contents`.
   */
  messages?: unknown;
  /** Anthropic's `system`, Gemini's `systemInstruction`, as received; null when absent (Chat Completions). */
  system?: unknown;
  /** The rest of the request body (max tokens, temperature, top_p, stop, stream options …), as received. */
  params?: Record<string, unknown>;
  /** Text deltas sent so far, in order (streamed answers; [] otherwise). Their concatenation is the text sent. */
  deltas?: string[];
}

/** An entry as the server builds it: every field set. */
export type FakeLoggedRequest = Required<FakeLogEntry>;

/** The request log plus live and peak in-flight counters per model. */
export class RequestLog {
  /** Live; reset() empties it in place so references stay valid. */
  readonly entries: FakeLoggedRequest[] = [];
  readonly #inFlight = new Map<string, number>();
  readonly #peak = new Map<string, number>();
  #seq = 0;

  begin(
    provider: FakeProvider,
    request: FakeRequest,
    path: string,
    startedAt: number,
    headers: Record<string, string> = {},
  ): FakeLoggedRequest {
    const { model } = request;
    const inFlight = (this.#inFlight.get(model) ?? 0) + 1;
    this.#inFlight.set(model, inFlight);
    this.#peak.set(model, Math.max(this.#peak.get(model) ?? 0, inFlight));
    const entry: FakeLoggedRequest = {
      seq: ++this.#seq,
      provider,
      model,
      path,
      startedAt,
      finishedAt: null,
      status: null,
      outcome: 'pending',
      inFlightAtStart: inFlight,
      inputTokens: null,
      outputTokens: null,
      apiKey:
        headers['x-api-key'] ?? headers['x-goog-api-key'] ?? headers.authorization?.replace(/^Bearer /, '') ?? null,
      headers,
      stream: request.stream,
      messages: request.messages,
      system: request.system,
      params: request.params,
      deltas: [],
    };
    this.entries.push(entry);
    return entry;
  }

  /** Called once per request, at the moment the answer leaves (not when the socket later closes). */
  end(entry: FakeLogEntry, outcome: FakeOutcome, status: number | null): void {
    entry.finishedAt = Date.now();
    entry.outcome = outcome;
    entry.status = status;
    this.#inFlight.set(entry.model, Math.max(0, (this.#inFlight.get(entry.model) ?? 1) - 1));
  }

  inFlight(model: string): number {
    return this.#inFlight.get(model) ?? 0;
  }

  peak(model: string): number {
    return this.#peak.get(model) ?? 0;
  }

  /** Empties the log; peaks restart from what is in flight now. */
  reset(): void {
    this.entries.length = 0;
    this.#peak.clear();
    for (const [model, count] of this.#inFlight) if (count > 0) this.#peak.set(model, count);
  }

  snapshot(): { entries: FakeLoggedRequest[]; inFlight: Record<string, number>; peak: Record<string, number> } {
    return {
      entries: this.entries,
      inFlight: Object.fromEntries(this.#inFlight),
      peak: Object.fromEntries(this.#peak),
    };
  }
}
