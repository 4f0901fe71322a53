import { ApiError, ConnectionError, OrchexError, TaskFailedError, ValidationError } from '@orchex/client';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { apiDoctorCommand } from './api-doctor.ts';
import { batchCancelCommand, batchRunCommand, batchStatusCommand } from './batch-commands.ts';
import { CliError, type CliIo, EXIT } from './cli-io.ts';
import { clientFromEnv, DEFAULT_ORCHEX_URL } from './client-from-env.ts';
import { budgetSetCommand, budgetShowCommand, reportCommand } from './cost-commands.ts';
import { getCommand, submitCommand } from './task-commands.ts';

const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1`);
  return n;
};
const commaList = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** What differs between the installed CLI and the one run from the orchex checkout. */
export interface CliOptions {
  /**
   * The checkout's `doctor`, which checks this machine's server setup (config, Redis, Postgres, migrations, provider
   * keys) with the server packages. Absent (the installed CLI, which has no server code): `doctor` asks the running
   * API instead (api-doctor.ts).
   */
  serverDoctor?: () => Promise<{ doctorCommand(o: { json?: boolean }, io: CliIo): Promise<number> }>;
}

/**
 * Runs one `orchex …` command line and resolves to its exit code (see EXIT). Expected failures print one clear
 * message on stderr, never a stack trace; only a bug in orchex itself prints one.
 */
export async function runCli(argv: string[], io: CliIo, options: CliOptions = {}): Promise<number> {
  let code: number = EXIT.ok;
  const client = (admin = false) => clientFromEnv(io.env, { admin });
  const json = (cmd: Command) => Boolean(cmd.optsWithGlobals().json);

  // ATLAS_PREFLIGHT=1 (the seed's flag): run doctor before a long command, and stop if it finds a problem.
  const preflight = async (cmd: Command): Promise<boolean> => {
    if (!/^(1|true)$/i.test(io.env.ATLAS_PREFLIGHT?.trim() ?? '')) return true;
    const quiet = { ...io, stdout: io.stderr };
    const failed = options.serverDoctor
      ? await (await options.serverDoctor()).doctorCommand({ json: json(cmd) }, quiet)
      : await apiDoctorCommand({ json: json(cmd) }, quiet);
    if (failed === EXIT.ok) return true;
    io.stderr.write('orchex: ATLAS_PREFLIGHT: doctor found a problem (above); nothing was submitted\n');
    code = EXIT.failed;
    return false;
  };

  const program = new Command('orchex')
    .description('Submit AI tasks to orchex, run batches, and check costs and setup.')
    .version('0.1.0')
    .option('--json', 'machine-readable JSON output (for scripts)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `\nEnvironment: ORCHEX_URL (default ${DEFAULT_ORCHEX_URL}), ORCHEX_API_KEY, ORCHEX_ADMIN_KEY (budget set).` +
        '\nExit codes: 0 ok, 1 failed (a task, the API, a doctor check), 2 invalid input or usage.',
    );

  program
    .command('submit')
    .description('queue a task; prints its id (with --wait: its answer)')
    .argument('<prompt>', 'what to ask')
    .addOption(
      new Option(
        '-t, --type <type>',
        'task type: code, research, analysis, creative, simple, long_context, or any word',
      ),
    )
    .option('--max-tokens <n>', 'largest output in tokens', positiveInt('--max-tokens'))
    .option('--system <text>', 'system prompt')
    .option('--context-file <path>', 'send this file as the task context')
    .option('--fallback <models>', 'explicit plan: comma-separated model names', commaList)
    .option('-w, --wait', 'wait for the result and print it')
    .option('-s, --stream', 'print the answer as the model writes it')
    .action(async (prompt: string, o, cmd: Command) => {
      if ((o.wait || o.stream) && !(await preflight(cmd))) return;
      code = await submitCommand(client(), prompt, { ...o, json: json(cmd) }, io);
    });

  program
    .command('get')
    .description('show a task (status, answer, attempts with --json)')
    .argument('<id>', 'task id')
    .action(async (id: string, _o, cmd: Command) => {
      code = await getCommand(client(), id, { json: json(cmd) }, io);
    });

  program
    .command('wait')
    .description('wait until a task finishes and print its answer')
    .argument('<id>', 'task id')
    .action(async (id: string, _o, cmd: Command) => {
      code = await getCommand(client(), id, { json: json(cmd), wait: true }, io);
    });

  const batch = program.command('batch').description('many tasks at once');
  batch
    .command('run')
    .description('submit a JSONL file (one task object per line) as one batch and write every result in input order')
    .argument('<file>', 'tasks, one JSON object per line')
    .option('-o, --out <file>', 'write results (JSONL) here instead of stdout')
    .option('--name <name>', 'name shown in the batch record')
    .option(
      '--progress-every <seconds>',
      'seconds between progress lines when not on a terminal',
      positiveInt('--progress-every'),
      5,
    )
    .action(async (file: string, o, cmd: Command) => {
      if (!(await preflight(cmd))) return;
      code = await batchRunCommand(client(), file, { ...o, json: json(cmd) }, io);
    });
  batch
    .command('status')
    .description("a batch's counts and cost")
    .argument('<id>', 'batch id')
    .action(async (id: string, _o, cmd: Command) => {
      code = await batchStatusCommand(client(), id, { json: json(cmd) }, io);
    });
  batch
    .command('cancel')
    .description('cancel the tasks of a batch that have not started')
    .argument('<id>', 'batch id')
    .action(async (id: string, _o, cmd: Command) => {
      code = await batchCancelCommand(client(), id, { json: json(cmd) }, io);
    });

  program
    .command('report')
    .description('cost report for your API key (the admin key sees all)')
    .addOption(
      new Option('--by <group>', 'break down by').choices(['model', 'task_type', 'day', 'provider']).default('model'),
    )
    .option('--from <date>', 'first UTC day, YYYY-MM-DD (default 29 days before --to)')
    .option('--to <date>', 'last UTC day, YYYY-MM-DD (default today)')
    .action(async (o, cmd: Command) => {
      code = await reportCommand(client(), { from: o.from, to: o.to, groupBy: o.by, json: json(cmd) }, io);
    });

  const budget = program.command('budget').description('the daily spending limit');
  budget
    .command('set')
    .description(
      'set the daily limit in USD ("none" removes it): with ORCHEX_ADMIN_KEY the global one, else your key\'s own',
    )
    .argument('<usd>', 'e.g. 25')
    .action(async (usd: string, _o, cmd: Command) => {
      code = await budgetSetCommand(client(true), usd, { json: json(cmd) }, io);
    });
  budget
    .command('show')
    .description("today's limit, spend and what remains")
    .action(async (_o, cmd: Command) => {
      code = await budgetShowCommand(client(), { json: json(cmd) }, io);
    });

  program
    .command('doctor')
    .description(
      options.serverDoctor
        ? 'preflight: config, Redis, Postgres, migrations, provider keys (exit 1 on a problem)'
        : 'preflight: the API answers, reaches Redis and Postgres, and accepts ORCHEX_API_KEY (exit 1 on a problem)',
    )
    .action(async (_o, cmd: Command) => {
      if (!options.serverDoctor) code = await apiDoctorCommand({ json: json(cmd) }, io);
      else code = await (await options.serverDoctor()).doctorCommand({ json: json(cmd) }, io);
    });

  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    return reportError(err, io);
  }
}

/** Prints an error the way a user can act on it and returns the exit code. */
function reportError(err: unknown, io: CliIo): number {
  const say = (text: string) => io.stderr.write(`orchex: ${text}\n`);
  if (err instanceof CommanderError) {
    // Commander has printed the usage problem (or the help/version) already.
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (err instanceof CliError) {
    say(err.message);
    return err.exitCode;
  }
  if (err instanceof ValidationError) {
    say(`${err.status === 422 ? 'refused' : 'invalid input'}: ${err.message}`);
    return EXIT.usage;
  }
  if (err instanceof ConnectionError) {
    say(`${err.message}\n  is the API running? (npm start) — set ORCHEX_URL if it is elsewhere`);
    return EXIT.failed;
  }
  if (err instanceof ApiError) {
    const hint =
      err.status === 401
        ? ' — check ORCHEX_API_KEY'
        : err.status === 403
          ? ' — this needs the admin key (ORCHEX_ADMIN_KEY)'
          : '';
    say(`${err.message} (HTTP ${err.status} ${err.code})${hint}`);
    return EXIT.failed;
  }
  if (err instanceof TaskFailedError || err instanceof OrchexError) {
    say(err.message);
    return EXIT.failed;
  }
  // Not an expected failure: a bug, so the stack helps whoever reports it.
  say(`unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return EXIT.failed;
}
