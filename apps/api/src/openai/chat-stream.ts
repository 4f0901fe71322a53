import type { TaskSummaryWithAttempts } from '@orchex/db';
import type { Response } from 'express';
import type { RelayItem } from '../stream-reader.ts';
import { finishReason } from './completion.ts';
import type { OpenAIError } from './openai-error.ts';

/**
 * Relays a `stream: true` task as OpenAI's chat.completion.chunk SSE. Nothing is sent until the first text arrives,
 * so a task that fails before any output still answers with a proper HTTP error (`failed`). A failed attempt whose
 * text never reached the client is invisible: the stream goes on with the fallback's answer. Once some of an
 * attempt's text has left, its failure ends the stream with an error event — the SDK raises, never a stream that
 * looks complete — while the task itself goes on durably through its fallback.
 */
export async function relayChatStream(
  res: Response,
  items: AsyncIterable<RelayItem>,
  opts: { taskId: string; includeUsage: boolean; failed: (task: TaskSummaryWithAttempts) => OpenAIError },
): Promise<void> {
  const id = `chatcmpl-${opts.taskId}`;
  const created = Math.floor(Date.now() / 1000);
  const sentFrom = new Set<number>();
  let model = '';
  const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) =>
    write(res, {
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
      ...extra,
    });
  const start = () => {
    if (res.headersSent) return;
    res.status(200).set({ 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.flushHeaders();
    chunk({ role: 'assistant', content: '' });
  };

  for await (const item of items) {
    if (item.kind === 'entry') {
      const e = item.entry.event;
      if (e.type === 'delta') {
        model = e.model;
        start();
        sentFrom.add(e.attempt);
        chunk({ content: e.text });
      } else if (e.type === 'attempt-failed' && sentFrom.has(e.attempt)) {
        write(res, {
          error: {
            message: `${e.model} failed after part of its answer was streamed (${e.errorKind}); the task goes on through its fallback: GET /v1/tasks/${opts.taskId}`,
            type: 'api_error',
            param: null,
            code: 'stream_interrupted',
          },
        });
        res.end();
        return;
      }
      continue;
    }
    const task = item.task;
    if (task.status !== 'succeeded') {
      const error = opts.failed(task);
      if (!res.headersSent) {
        if (error.retryAfterS !== undefined) res.set('Retry-After', String(error.retryAfterS));
        res.status(error.status).json(error.body);
      } else {
        write(res, error.body);
        res.end();
      }
      return;
    }
    model = task.model ?? model;
    if (!res.headersSent) {
      // No text came through the stream (a model without streaming): the whole answer in one chunk.
      start();
      chunk({ content: task.resultText ?? '' });
    }
    chunk({}, finishReason(task.finishReason));
    if (opts.includeUsage) {
      const input = task.usage?.inputTokens.total ?? 0;
      const output = task.usage?.outputTokens.total ?? 0;
      write(res, {
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        choices: [],
        usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output },
      });
    }
    res.write('data: [DONE]\n\n');
    res.end();
    return;
  }
}

function write(res: Response, data: unknown): void {
  res.write(`data: ${JSON.stringify(data)}\n\n`);
}
