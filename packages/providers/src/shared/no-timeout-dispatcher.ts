const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

interface Dispatcher {
  dispatch(options: object, handler: unknown): boolean;
}

/**
 * A `dispatcher` for Node's built-in fetch that lifts undici's 300 s headers/body timeouts: a non-streaming call that
 * thinks for longer than five minutes would otherwise fail as a connection error. The caller's AbortSignal is the
 * deadline instead. Same approach as @google/genai, which does this for its own requests.
 */
export const noTimeoutDispatcher: Dispatcher = {
  dispatch(options, handler) {
    const registry = globalThis as unknown as Record<symbol, Dispatcher | undefined>;
    // Node creates its global dispatcher lazily, on first use of the fetch API.
    if (!registry[GLOBAL_DISPATCHER]) new Headers();
    const global = registry[GLOBAL_DISPATCHER];
    if (!global) throw new TypeError('undici global dispatcher is not available in this Node.js runtime');
    return global.dispatch({ ...options, headersTimeout: 0, bodyTimeout: 0 }, handler);
  },
};

/**
 * How long the SDKs' own request timer may run: effectively never, because every call carries the caller's
 * AbortSignal (orchestrator.timeout or the task's own deadline). Below 2^31 ms so Node accepts it as a timer.
 */
export const SDK_TIMEOUT_MS = 24 * 60 * 60 * 1000;

/**
 * `fetchOptions` for the Stainless SDKs (Anthropic, OpenAI). Typed loosely because each SDK types
 * `dispatcher` against whichever undici it finds, while Node's fetch only needs an object with `dispatch`.
 */
export const noTimeoutFetchOptions: object = { dispatcher: noTimeoutDispatcher };
