import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { readRetryAfterMs } from '../shared/read-retry-after.ts';
import { anthropicProtocol } from './anthropic-protocol.ts';
import type { FakeProtocol, FakeReply, FakeRequest } from './fake-protocol.ts';
import { type FakeErrorPreset, type FakeStep, fakeStepSchema } from './fake-step.ts';
import { geminiProtocol } from './gemini-protocol.ts';
import { openaiProtocol } from './openai-protocol.ts';
import { type FakeLoggedRequest, type FakeOutcome, RequestLog } from './request-log.ts';
import { type StreamPlan, streamAnswer } from './stream-answer.ts';

/** Where and how to listen. */
export interface FakeLlmServerOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

/** A running fake server. Scripts are per model id (the id in the request), consumed one step per request. */
export interface FakeLlmServer {
  /** e.g. http://127.0.0.1:41234, no trailing slash. */
  readonly url: string;
  readonly port: number;
  /** Live request log, in arrival order. */
  readonly log: readonly FakeLoggedRequest[];
  /** Requests of `model` in flight now. */
  inFlight(model: string): number;
  /** Most requests of `model` in flight at once since start or the last resetLog(). */
  peakInFlight(model: string): number;
  /** Appends steps to the model's FIFO. */
  script(model: string, steps: readonly FakeStep[]): void;
  /** What the model does once its FIFO is empty; model "*" sets it for every model without its own. */
  setDefault(model: string, behaviour: FakeStep): void;
  resetLog(): void;
  /** Drops every queued step and every default. */
  clearScripts(): void;
  /** Stops listening and destroys open connections (hung requests included). */
  close(): Promise<void>;
}

/** `streams`: the URL asks for a stream (Gemini); elsewhere the body's `stream: true` does. */
const ROUTES: { pattern: RegExp; protocol: FakeProtocol; streams?: true }[] = [
  { pattern: /^\/v1\/messages$/, protocol: anthropicProtocol },
  { pattern: /^\/v1\/chat\/completions$/, protocol: openaiProtocol('openai', true) },
  { pattern: /^\/ollama\/v1\/chat\/completions$/, protocol: openaiProtocol('ollama', false) },
  { pattern: /^\/(?:v1beta|v1)\/models\/([^/]+):generateContent$/, protocol: geminiProtocol },
  { pattern: /^\/(?:v1beta|v1)\/models\/([^/]+):streamGenerateContent$/, protocol: geminiProtocol, streams: true },
];

const scriptBody = z.object({ model: z.string().min(1), steps: z.array(fakeStepSchema) });
const defaultBody = z.object({ model: z.string().min(1), step: fakeStepSchema });

function presetFor(status: number): FakeErrorPreset {
  if (status === 429) return 'rate_limited';
  if (status === 401 || status === 403) return 'auth';
  if (status === 529 || status === 503) return 'overloaded';
  return status >= 500 ? 'server' : 'bad_request';
}

const estimateTokens = (chars: number) => Math.max(1, Math.ceil(chars / 4));

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * One node:http server speaking the Anthropic, OpenAI, Gemini and Ollama (OpenAI-compatible) wire protocols, with
 * per-model scripted latency and faults and a request log. Base URLs: see fakeProviderEnv().
 */
export async function startFakeLlmServer(options: FakeLlmServerOptions = {}): Promise<FakeLlmServer> {
  const scripts = new Map<string, FakeStep[]>();
  const defaults = new Map<string, FakeStep>();
  const log = new RequestLog();
  let replies = 0;

  const nextStep = (model: string): FakeStep =>
    scripts.get(model)?.shift() ?? defaults.get(model) ?? defaults.get('*') ?? { type: 'ok' };

  const reply = (
    request: FakeRequest,
    step: Pick<Extract<FakeStep, { type: 'ok' }>, 'text' | 'usage' | 'finish'>,
  ): FakeReply => {
    const text = step.text ?? `fake answer from ${request.model}: ${request.prompt.slice(0, 40)}`;
    const cacheRead = step.usage?.cacheRead ?? 0;
    const cacheWrite1h = step.usage?.cacheWrite1h ?? 0;
    const cacheWrite = step.usage?.cacheWrite ?? cacheWrite1h;
    const reasoning = step.usage?.reasoning ?? 0;
    return {
      id: `fake${String(++replies).padStart(6, '0')}`,
      model: request.model,
      text,
      finish: step.finish ?? 'stop',
      usage: {
        input: step.usage?.input ?? Math.max(estimateTokens(request.inputChars), cacheRead + cacheWrite),
        output: step.usage?.output ?? estimateTokens(text.length) + reasoning,
        cacheRead,
        cacheWrite,
        cacheWrite1h,
        reasoning,
      },
    };
  };

  const handleModelRequest = async (
    req: IncomingMessage,
    res: ServerResponse,
    protocol: FakeProtocol,
    path: string,
    pathModel: string | undefined,
    streamRoute: boolean,
    startedAt: number,
  ) => {
    const parsed = protocol.parseRequest(await readBody(req), pathModel);
    if (!parsed) {
      send(res, 400, protocol.errorBody('bad_request', 400, undefined));
      return;
    }
    const request = streamRoute ? { ...parsed, stream: true } : parsed;
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v ?? '')]),
    );
    const entry = log.begin(protocol.provider, request, path, startedAt, headers);
    const step = nextStep(request.model);
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    // Logged when the answer leaves, so a client that immediately sends its next request never sees this one
    // still counted as in flight.
    const finish = (outcome: FakeOutcome, status: number | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      log.end(entry, outcome, status);
    };
    res.on('close', () => finish(step.type === 'hang' ? 'hang' : 'aborted', null));
    const stream = (answer: FakeReply, chunkDelayMs: number | undefined, cut?: StreamPlan['cut']) =>
      streamAnswer(
        req,
        res,
        protocol,
        { reply: answer, includeUsage: request.includeUsage, chunkDelayMs: chunkDelayMs ?? 0, cut },
        {
          sent: (text) => entry.deltas.push(text),
          closed: () => done,
          finish: (outcome, status) => {
            // Only an answer that was streamed to its end reports usage; a broken or abandoned one reports none.
            if (outcome === 'ok') {
              entry.inputTokens = answer.usage.input;
              entry.outputTokens = answer.usage.output;
            }
            finish(outcome, status);
          },
        },
      );

    const act = async () => {
      switch (step.type) {
        case 'ok': {
          const answer = reply(request, step);
          if (request.stream) return stream(answer, step.chunkDelayMs);
          entry.inputTokens = answer.usage.input;
          entry.outputTokens = answer.usage.output;
          const { headers, body } = protocol.okResponse(answer);
          finish('ok', 200);
          send(res, 200, body, headers);
          return;
        }
        case 'cut': {
          if (!request.stream) {
            // Nothing to cut into: the connection closes without an answer.
            finish('cut', null);
            req.socket.destroy();
            return;
          }
          const cut = {
            afterDeltas: step.afterDeltas,
            variant: step.variant ?? 'reset',
            preset: step.preset ?? 'overloaded',
          };
          return stream(reply(request, { text: step.text }), step.chunkDelayMs, cut);
        }
        case 'error': {
          const body =
            step.body ??
            protocol.errorBody(step.preset ?? presetFor(step.status), step.status, readRetryAfterMs(step.headers));
          finish('error', step.status);
          send(res, step.status, body, step.headers);
          return;
        }
        case 'malformed':
          finish('malformed', 200);
          if (request.stream) {
            const events = protocol.malformedStream(step.variant ?? 'not-json');
            send(res, 200, events, { 'content-type': 'text/event-stream' });
            return;
          }
          send(
            res,
            200,
            step.variant === 'wrong-shape' ? { unexpected: true, content: 42 } : '{"id": "truncated", "content": [',
          );
          return;
        case 'raw':
          finish('raw', step.status ?? 200);
          send(res, step.status ?? 200, step.body, step.headers);
          return;
        case 'reset':
          finish('reset', null);
          req.socket.destroy();
          return;
        case 'hang':
          return;
      }
    };
    const run = () => {
      act().catch((error: unknown) => {
        // A bug in the fake, not a scripted fault: say so instead of hanging the client.
        if (!res.headersSent) send(res, 500, { error: { message: `fake server bug: ${String(error)}` } });
        else res.destroy();
      });
    };
    const latency = step.type === 'hang' ? 0 : (step.latencyMs ?? 0);
    if (latency > 0) timer = setTimeout(run, latency);
    else run();
  };

  const handleControl = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    if (req.method === 'GET' && path === '/__fake/log') return send(res, 200, log.snapshot());
    if (req.method !== 'POST') return send(res, 404, { error: `no control route ${req.method} ${path}` });
    if (path === '/__fake/reset') {
      scripts.clear();
      defaults.clear();
      log.reset();
      return send(res, 200, { ok: true });
    }
    const body = await readBody(req);
    if (path === '/__fake/script') {
      const parsed = scriptBody.safeParse(body);
      if (!parsed.success) return send(res, 400, { error: z.prettifyError(parsed.error) });
      server.script(parsed.data.model, parsed.data.steps);
      return send(res, 200, { queued: scripts.get(parsed.data.model)?.length ?? 0 });
    }
    if (path === '/__fake/default') {
      const parsed = defaultBody.safeParse(body);
      if (!parsed.success) return send(res, 400, { error: z.prettifyError(parsed.error) });
      server.setDefault(parsed.data.model, parsed.data.step);
      return send(res, 200, { ok: true });
    }
    return send(res, 404, { error: `no control route ${req.method} ${path}` });
  };

  const http = createServer((req, res) => {
    const startedAt = Date.now();
    const path = new URL(req.url ?? '/', 'http://fake.invalid').pathname;
    const work = path.startsWith('/__fake/')
      ? handleControl(req, res, path)
      : (() => {
          const route = ROUTES.find((r) => r.pattern.test(path));
          if (req.method !== 'POST' || !route) {
            send(res, 404, { error: { message: `fake LLM server has no route ${req.method} ${path}` } });
            return Promise.resolve();
          }
          const pathModel = route.pattern.exec(path)?.[1];
          const model = pathModel === undefined ? undefined : decodeURIComponent(pathModel);
          return handleModelRequest(req, res, route.protocol, path, model, route.streams === true, startedAt);
        })();
    work.catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: { message: `fake server bug: ${String(error)}` } });
    });
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  const urlHost = host.includes(':') ? `[${host}]` : host;

  const server: FakeLlmServer = {
    url: `http://${urlHost}:${port}`,
    port,
    log: log.entries,
    inFlight: (model) => log.inFlight(model),
    peakInFlight: (model) => log.peak(model),
    script(model, steps) {
      const parsed = steps.map((step) => fakeStepSchema.parse(step));
      scripts.set(model, [...(scripts.get(model) ?? []), ...parsed]);
    },
    setDefault(model, behaviour) {
      defaults.set(model, fakeStepSchema.parse(behaviour));
    },
    resetLog: () => log.reset(),
    clearScripts() {
      scripts.clear();
      defaults.clear();
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        http.close((error) => (error ? reject(error) : resolve()));
        http.closeAllConnections();
      }),
  };
  return server;
}
