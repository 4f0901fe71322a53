const MAX_LENGTH = 300;

/**
 * A provider's error text made safe to store: known secrets and anything shaped like an API key are masked (OpenAI
 * echoes part of a wrong key), and the text is cut short so a body that echoes the request cannot carry the prompt.
 */
export function safeMessage(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 8) out = out.split(secret).join('[redacted]');
  }
  out = out.replace(/\bsk-[-_A-Za-z0-9*]{4,}|\bAIza[-_A-Za-z0-9]{10,}/g, '[redacted]');
  return out.length > MAX_LENGTH ? `${out.slice(0, MAX_LENGTH)}…` : out;
}
