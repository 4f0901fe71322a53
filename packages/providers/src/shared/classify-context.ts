/** Where a failed call happened, for the error's fields and for masking the key in messages. */
export interface ClassifyContext {
  /** orchex's model name. */
  model: string;
  /** Whether the caller's AbortSignal had fired: then the failure is our deadline, whatever the SDK threw. */
  aborted: boolean;
  /** Masked out of any message. */
  apiKey?: string | undefined;
}
