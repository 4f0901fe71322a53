/** Environment variables as adapters read them; `process.env` by default, a plain object in tests. */
export type Env = Readonly<Record<string, string | undefined>>;
