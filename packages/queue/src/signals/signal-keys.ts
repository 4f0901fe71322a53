/** Redis keys of one model's measured signals. */
export interface SignalKeys {
  /** LIST of "ms:outputTokens" of recent successful calls, newest first. */
  latency: string;
  /** LIST of "1" (the model failed) / "0" (it answered), newest first: the error-rate window. */
  outcomes: string;
  /** HASH: streak (failures in a row), open_until and cooldown (ms) of the circuit, probe_until. */
  circuit: string;
}

/** Keys of one model, under its hash tag `{model}` like its queue and limits, so each script touches one slot. */
export function signalKeys(prefix: string, model: string): SignalKeys {
  if (/[{}]/.test(model)) throw new Error(`model name "${model}" must not contain "{" or "}" (it is a hash tag)`);
  const base = `${prefix}:signals:{${model}}`;
  return { latency: `${base}:latency`, outcomes: `${base}:outcomes`, circuit: `${base}:circuit` };
}
