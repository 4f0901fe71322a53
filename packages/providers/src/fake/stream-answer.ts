import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FakeProtocol, FakeReply } from './fake-protocol.ts';
import type { FakeErrorPreset } from './fake-step.ts';
import type { FakeOutcome } from './request-log.ts';
import { splitDeltas } from './split-deltas.ts';

/** How one streamed answer goes. */
export interface StreamPlan {
  reply: FakeReply;
  /** Whether the request asked for usage at the end (OpenAI's stream_options.include_usage). */
  includeUsage: boolean;
  /** Wait before each delta after the first. */
  chunkDelayMs: number;
  /** Break the stream after this many deltas instead of finishing it. */
  cut?: { afterDeltas: number; variant: 'reset' | 'error-event'; preset: FakeErrorPreset } | undefined;
}

/** What the stream reports back to the server's request handling. */
export interface StreamHooks {
  /** A delta went out (the log's `deltas`). */
  sent(text: string): void;
  /** The client went away: stop writing. */
  closed(): boolean;
  /** The answer is complete or broken: the log's outcome and status (called once, before the last write). */
  finish(outcome: FakeOutcome, status: number | null): void;
}

/**
 * Writes one streamed answer in the protocol's wire format: its head, one event per word of the text (chunkDelayMs
 * apart), then its tail — or, for a cut, the provider's error event or a connection closed mid-body where the next
 * delta would have been. A content-filtered answer streams no text, like its non-streamed body.
 */
export async function streamAnswer(
  req: IncomingMessage,
  res: ServerResponse,
  protocol: FakeProtocol,
  plan: StreamPlan,
  hooks: StreamHooks,
): Promise<void> {
  const { reply, cut } = plan;
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    ...protocol.okResponse(reply).headers,
  });
  // Headers go out now, as a real server's do, even when the first event is still to come.
  res.flushHeaders();
  const head = protocol.streamHead(reply);
  if (head) res.write(head);
  const deltas = reply.finish === 'content_filter' ? [] : splitDeltas(reply.text);
  const count = cut ? Math.min(cut.afterDeltas, deltas.length) : deltas.length;
  const pause = async () => {
    if (plan.chunkDelayMs > 0) await sleep(plan.chunkDelayMs);
  };
  for (let i = 0; i < count; i++) {
    if (i > 0) await pause();
    if (hooks.closed()) return;
    const text = deltas[i] ?? '';
    res.write(protocol.streamDelta(reply, text));
    hooks.sent(text);
  }
  if (!cut) {
    hooks.finish('ok', 200);
    res.end(protocol.streamTail(reply, plan.includeUsage));
    return;
  }
  // The break comes where the next delta would have.
  if (count > 0) await pause();
  if (hooks.closed()) return;
  hooks.finish('cut', 200);
  switch (cut.variant) {
    case 'error-event':
      res.end(protocol.streamError(cut.preset));
      return;
    case 'reset':
      // Let the events already written leave first, then close the socket without ending the chunked body: the
      // client has the deltas, then a connection lost mid-response.
      await new Promise((resolve) => setImmediate(resolve));
      req.socket.destroy();
      return;
  }
}
