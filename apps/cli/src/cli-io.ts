/** Where a command writes and what it reads from its environment; main.ts passes the process's, tests their own. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** Exit codes: 0 ok; 1 something failed (a task, the API, a doctor check); 2 the input or usage was wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** An expected failure: printed as its message alone (no stack), ending the command with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
  }
}
