import type { z } from 'zod';
import { BUILT_IN_ALIASES, DEFAULT_CONFIG_SOURCE } from './default-config.ts';
import { type ModelConfig, type ModelEntry, modelConfigSchema } from './model-config-schema.ts';
import { PROVIDERS, type ProviderName } from './vocabulary.ts';

/** What resolveConfig needs of the config as written; the other sections pass through unchanged. */
interface RawConfig {
  orchestrator: { default_model: string };
  routing_rules: Record<string, { primary: string; fallback: string[] }>;
  aliases: Record<string, string>;
  cost_analysis: { baseline_model?: string | undefined };
  models: Record<string, ModelEntry>;
  plugins: Array<{ provider: string }>;
}

/** A config with every model complete and every name resolved. */
export type Resolved<C extends RawConfig> = Omit<C, 'models'> & {
  models: Record<string, ModelConfig>;
  /** Names that stand for configured models (aliases whose target resolved), for fallback chains. */
  aliases: Record<string, string>;
};

// A host that means "this machine": a model served there is a local (Ollama-style) model.
const LOCAL_HOST = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|host\.docker\.internal)$/;

/**
 * The provider a model name implies: claude → anthropic; gpt, chatgpt and the o-series (o1, o3, o4-mini…) → openai;
 * gemini → google; a model served from a local base URL → ollama.
 */
export function inferProvider(name: string, baseUrl?: string): ProviderName | undefined {
  if (baseUrl) {
    try {
      if (LOCAL_HOST.test(new URL(baseUrl).hostname)) return 'ollama';
    } catch {}
  }
  const n = name.toLowerCase();
  if (n.startsWith('claude')) return 'anthropic';
  if (/^(gpt|chatgpt|o\d)(\b|[-.])/.test(n) || /^o\d$/.test(n)) return 'openai';
  if (n.startsWith('gemini')) return 'google';
  return undefined;
}

type Issue = { path: (string | number)[]; message: string };

/**
 * Resolves a config as written (see configSchema): models completed, names through aliases, built-in models added
 * where an alias names one. Problems are reported through `ctx` with their key paths.
 */
export function resolveConfig<C extends RawConfig>(cfg: C, ctx: z.RefinementCtx): Resolved<C> {
  const issues: Issue[] = [];
  const aliases: Record<string, string> = { ...BUILT_IN_ALIASES, ...cfg.aliases };
  const builtIn = DEFAULT_CONFIG_SOURCE.models as Record<string, ModelEntry>;
  const models: Record<string, ModelConfig> = {};
  const providers: string[] = [...PROVIDERS, ...cfg.plugins.map((p) => p.provider)];

  // Where an alias chain ends: the first name that is not an alias (a loop ends where it repeats).
  const chase = (name: string): string => {
    const seen = new Set<string>();
    let n = name;
    while (Object.hasOwn(aliases, n) && !seen.has(n)) {
      seen.add(n);
      n = aliases[n] as string;
    }
    return n;
  };
  // The configured model a name stands for: itself; else its alias target; else a configured model that is another
  // name of that target (the seed's file defines claude-sonnet-4, which is what its claude-sonnet means).
  const standsFor = new Map<string, string>();
  for (const name of Object.keys(cfg.models)) {
    const t = chase(name);
    if (!standsFor.has(t)) standsFor.set(t, name);
  }
  const target = (name: string): string => {
    if (Object.hasOwn(cfg.models, name)) return name;
    const t = chase(name);
    return Object.hasOwn(cfg.models, t) ? t : (standsFor.get(t) ?? t);
  };

  const complete = (name: string, entry: ModelEntry, path: (string | number)[]) => {
    // A seed name defined without a model_id stands for its alias target's current model.
    const via = Object.hasOwn(aliases, name) ? chase(name) : undefined;
    const base = via !== undefined && via !== name ? (cfg.models[via] ?? builtIn[via]) : undefined;
    const provider = entry.provider ?? base?.provider ?? inferProvider(name, entry.base_url);
    if (!provider) {
      issues.push({
        path: [...path, 'provider'],
        message: `cannot tell the provider of "${name}" from its name: set provider (${providers.join(', ')})`,
      });
      return;
    }
    if (!providers.includes(provider)) {
      issues.push({
        path: [...path, 'provider'],
        message: `unknown provider "${provider}" (built in: ${PROVIDERS.join(', ')}; add others under plugins:)`,
      });
      return;
    }
    const model_id =
      entry.model_id ??
      (entry.provider === undefined || entry.provider === base?.provider ? base?.model_id : undefined) ??
      name;
    const tier = entry.tier ?? base?.tier;
    const parsed = modelConfigSchema.safeParse({ ...entry, provider, model_id, ...(tier ? { tier } : {}) });
    if (parsed.success) models[name] = parsed.data;
    else
      for (const i of parsed.error.issues) issues.push({ path: [...path, ...i.path.map(String)], message: i.message });
  };

  for (const [name, entry] of Object.entries(cfg.models)) complete(name, entry, ['models', name]);

  // A name used by the config: a configured model, or an alias of one (a built-in model an alias names is added).
  const resolve = (name: string, path: (string | number)[]): string => {
    if (Object.hasOwn(models, name) || Object.hasOwn(cfg.models, name)) return name;
    const t = target(name);
    if (!Object.hasOwn(models, t) && !Object.hasOwn(cfg.models, t) && Object.hasOwn(builtIn, t)) {
      complete(t, builtIn[t] as ModelEntry, path);
    }
    if (Object.hasOwn(models, t)) return t;
    if (!Object.hasOwn(cfg.models, t)) {
      const known = [...new Set([...Object.keys(cfg.models), ...Object.keys(models)])].join(', ');
      const why = t === name ? '' : ` (alias of "${t}", which is not a model either)`;
      issues.push({ path, message: `unknown model "${name}"${why}; known models: ${known}` });
    }
    return t;
  };

  const orchestrator = {
    ...cfg.orchestrator,
    default_model: resolve(cfg.orchestrator.default_model, ['orchestrator', 'default_model']),
  };
  const routing_rules: Record<string, (typeof cfg.routing_rules)[string]> = {};
  for (const [type, rule] of Object.entries(cfg.routing_rules)) {
    const primary = resolve(rule.primary, ['routing_rules', type, 'primary']);
    const fallback = rule.fallback
      .map((m, i) => resolve(m, ['routing_rules', type, 'fallback', i]))
      .filter((m, i, all) => m !== primary && all.indexOf(m) === i);
    routing_rules[type] = { ...rule, primary, fallback };
  }
  const baseline = cfg.cost_analysis.baseline_model;
  const cost_analysis = {
    ...cfg.cost_analysis,
    ...(baseline ? { baseline_model: resolve(baseline, ['cost_analysis', 'baseline_model']) } : {}),
  };
  const usable: Record<string, string> = {};
  for (const name of Object.keys(aliases)) {
    const t = target(name);
    if (Object.hasOwn(models, t) && !Object.hasOwn(models, name)) usable[name] = t;
  }

  for (const i of issues) ctx.addIssue({ code: 'custom', path: i.path, message: i.message });
  return { ...cfg, orchestrator, routing_rules, cost_analysis, models, aliases: usable };
}
