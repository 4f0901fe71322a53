import { z } from 'zod';

const weight = z.number().min(0).max(1);

/** The `routing:` section: how strategies weigh models and when a model counts as unhealthy. */
export const routerSettingsSchema = z
  .object({
    /** The `balanced` strategy's weights; they need not sum to 1 (they are normalised). Default 0.4 / 0.3 / 0.3. */
    balanced: z
      .object({ quality: weight.default(0.4), cost: weight.default(0.3), speed: weight.default(0.3) })
      .strict()
      .refine((w) => w.quality + w.cost + w.speed > 0, 'at least one weight must be above 0')
      .default({ quality: 0.4, cost: 0.3, speed: 0.3 }),
    /** Successful calls per model whose latency is kept (rolling, in Redis) for p50/p95. Default 100. */
    latency_samples: z.number().int().min(5).max(10_000).default(100),
    /** Calls a model needs in its latency window before `speed` trusts its figures. Default 5. */
    min_latency_samples: z.number().int().min(1).max(1000).default(5),
    health: z
      .object({
        /** Move models whose circuit is open to the back of new plans. Default true (figures are kept either way). */
        enabled: z.boolean().default(true),
        /** Recent outcomes per model the error rate is taken over. Default 20. */
        window: z.number().int().min(2).max(1000).default(20),
        /** Outcomes needed before the error rate can open the circuit. Default 10. */
        min_outcomes: z.number().int().min(1).max(1000).default(10),
        /** Error rate (0–1) over the window that opens the circuit. Default 0.5. */
        max_error_rate: z.number().gt(0).max(1).default(0.5),
        /** Failures in a row that open the circuit. Default 5. */
        consecutive_failures: z.number().int().min(1).max(1000).default(5),
        /** Seconds an open circuit waits before one probe task may try the model again; doubles per failed probe. Default 30. */
        cooldown: z.number().positive().max(3600).default(30),
        /** Longest cooldown, seconds. Default 300. */
        max_cooldown: z.number().positive().max(86_400).default(300),
      })
      .strict()
      .default({
        enabled: true,
        window: 20,
        min_outcomes: 10,
        max_error_rate: 0.5,
        consecutive_failures: 5,
        cooldown: 30,
        max_cooldown: 300,
      }),
  })
  .strict();

/** The router's settings, defaults filled in. */
export type RouterSettings = z.output<typeof routerSettingsSchema>;
