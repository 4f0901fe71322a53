import type { CostReportOptions, Orchestrator } from '@orchex/client';
import { CliError, type CliIo, EXIT } from './cli-io.ts';
import { formatUsd } from './progress-bar.ts';

/** `orchex report [--by model] [--from D] [--to D]`: the cost report for this API key (admin: everyone). */
export async function reportCommand(
  client: Orchestrator,
  o: CostReportOptions & { json?: boolean },
  io: CliIo,
): Promise<number> {
  const r = await client.getCostReport({ from: o.from, to: o.to, groupBy: o.groupBy });
  if (o.json) {
    io.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return EXIT.ok;
  }
  const rows = r.groups.map((g) => [g.key || '(none)', String(g.requests), formatUsd(g.cost)]);
  const width = [r.groupBy.length, 8, 10].map((w, i) => Math.max(w, ...rows.map((row) => (row[i] as string).length)));
  const pad = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(width[i] as number) : c.padStart(width[i] as number))).join('  ');
  io.stdout.write(
    [
      `Cost report ${r.from} … ${r.to}`,
      `Total cost:               ${formatUsd(r.totalCost)}`,
      `Total requests:           ${r.totalRequests}`,
      `Average cost per request: ${formatUsd(r.avgCostPerRequest)}`,
      `Saved by the cache:       ${formatUsd(r.savedByCache)} (${r.cacheHits} cached answers)`,
      '',
      pad([r.groupBy, 'requests', 'cost']),
      ...rows.map(pad),
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}

/**
 * `orchex budget set 25` (USD per UTC day; `none` removes the limit): with the admin key the global budget, with a
 * client key that key's own.
 */
export async function budgetSetCommand(
  client: Orchestrator,
  amount: string,
  o: { json?: boolean },
  io: CliIo,
): Promise<number> {
  const none = /^(none|off|unlimited)$/i.test(amount);
  const usd = Number(amount);
  if (!none && !(Number.isFinite(usd) && usd >= 0)) {
    throw new CliError(
      `budget: "${amount}" is not an amount in USD (e.g. 25 or 2.5, or "none" for no limit)`,
      EXIT.usage,
    );
  }
  const b = await client.setBudget({ maxDailyCost: none ? null : usd });
  return printBudget(b, o, io);
}

/** `orchex budget show`. */
export async function budgetShowCommand(client: Orchestrator, o: { json?: boolean }, io: CliIo): Promise<number> {
  return printBudget(await client.getBudget(), o, io);
}

function printBudget(b: Awaited<ReturnType<Orchestrator['getBudget']>>, o: { json?: boolean }, io: CliIo): number {
  if (o.json) io.stdout.write(`${JSON.stringify(b, null, 2)}\n`);
  else {
    const limit = `${b.scope === 'key' ? "this key's " : ''}${b.limit === null ? 'no limit' : `${formatUsd(b.limit)}/day`}`;
    const remaining = b.remaining === null ? '' : `, ${formatUsd(b.remaining)} remaining`;
    io.stdout.write(
      `budget ${b.day}: ${limit}; spent ${formatUsd(b.spent)}, reserved ${formatUsd(b.reserved)}${remaining}\n`,
    );
  }
  return EXIT.ok;
}
