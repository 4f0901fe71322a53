/**
 * Env variables that point every adapter at a fake server at `url`, with placeholder keys (the fake accepts any).
 * Spread into createLanguageModel's env, or print them for another process.
 */
export function fakeProviderEnv(url: string): Record<string, string> {
  return {
    ANTHROPIC_BASE_URL: url,
    ANTHROPIC_API_KEY: 'fake-anthropic-key',
    OPENAI_BASE_URL: `${url}/v1`,
    OPENAI_API_KEY: 'fake-openai-key',
    GOOGLE_BASE_URL: url,
    GOOGLE_API_KEY: 'fake-google-key',
    OLLAMA_BASE_URL: `${url}/ollama/v1`,
  };
}
