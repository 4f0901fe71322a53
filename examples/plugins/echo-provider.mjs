// An orchex provider plugin written outside the repo, in plain JavaScript: it answers through any server that speaks
// OpenAI's Chat Completions protocol, with fetch. Load it from the config:
//
//   plugins:
//     - provider: echo
//       module: ./plugins/echo-provider.mjs      # relative to the config file; or an npm package name
//   models:
//     my-model: { provider: echo, model_id: some-model, base_url: http://127.0.0.1:4010/v1,
//                 api_key_env: ECHO_KEY, max_tokens: 8000, input_cost_per_1k: 0, output_cost_per_1k: 0 }

/** Failures carry a `kind` (see docs/providers.md), so orchex retries, re-routes or fails as for its own adapters. */
function failure(kind, message, statusCode) {
  return Object.assign(new Error(message), { kind, statusCode });
}

export default {
  provider: 'echo',
  /** @param {{ modelName: string, modelId: string, env: Record<string, string | undefined>, connection?: { baseURL?: string, apiKeyEnv?: string, headers?: Record<string, string> } }} init */
  createModel(init) {
    const baseURL = init.connection?.baseURL;
    if (!baseURL) throw new Error('echo models need a base_url');
    const key = init.connection?.apiKeyEnv ? init.env[init.connection.apiKeyEnv] : undefined;
    return {
      provider: 'echo',
      modelName: init.modelName,
      modelId: init.modelId,
      async doGenerate(options) {
        const started = performance.now();
        let res;
        try {
          res = await fetch(`${baseURL}/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
            body: JSON.stringify({
              model: init.modelId,
              max_tokens: options.maxOutputTokens,
              messages: [
                ...(options.system ? [{ role: 'system', content: options.system }] : []),
                { role: 'user', content: options.prompt },
              ],
            }),
            signal: options.abortSignal,
          });
        } catch (err) {
          throw failure(options.abortSignal?.aborted ? 'timeout' : 'connection', String(err));
        }
        if (res.status === 429) throw failure('rate_limited', 'rate limited', 429);
        if (res.status >= 500) throw failure('server', `server error ${res.status}`, res.status);
        if (!res.ok) throw failure('bad_request', `request refused ${res.status}`, res.status);
        const body = await res.json();
        const input = body.usage?.prompt_tokens ?? 0;
        const output = body.usage?.completion_tokens ?? 0;
        return {
          content: body.choices?.[0]?.message?.content ?? '',
          finishReason: { unified: 'stop', raw: body.choices?.[0]?.finish_reason },
          usage: {
            inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 },
            outputTokens: { total: output, reasoning: 0 },
          },
          response: { id: body.id, modelId: body.model, headers: {} },
          latencyMs: Math.round(performance.now() - started),
        };
      },
    };
  },
};
