import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStepMetrics } from '@orchex/queue';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createApiMetrics } from '../../apps/api/src/api-metrics.ts';
import { testConfig } from '../support/test-config.ts';

// `docker compose --profile observability` cannot run here (no container engine): check what can be checked without
// one — the files exist where the compose file mounts them, the configs parse and agree with each other, and every
// metric the dashboard queries is one that orchex exports.
const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (p: string) => readFileSync(join(root, p), 'utf8');

interface Service {
  image?: string;
  profiles?: string[];
  command?: string[] | string;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
}
const compose = parse(read('docker-compose.yml')) as { services: Record<string, Service>; volumes: object };
const prometheus = parse(read('infra/prometheus/prometheus.yml')) as {
  scrape_configs: Array<{
    job_name: string;
    metrics_path: string;
    authorization?: { type: string; credentials_file: string };
    static_configs?: Array<{ targets: string[] }>;
    dns_sd_configs?: Array<{ names: string[]; type: string; port: number }>;
  }>;
};
const dashboard = JSON.parse(read('infra/grafana/dashboards/orchex.json')) as {
  uid: string;
  title: string;
  panels: Array<{
    type: string;
    title: string;
    datasource?: { uid: string };
    targets?: Array<{ expr: string; datasource?: { uid: string } }>;
    gridPos: { x: number; y: number; w: number; h: number };
  }>;
};

/** Every metric family name orchex's API and workers register (nothing is collected, so no Redis is needed). */
function exportedNames(): Set<string> {
  const registry = new Registry();
  createStepMetrics(registry);
  const api = createApiMetrics({
    config: testConfig(),
    queues: {} as never,
    limitStates: {} as never,
    budget: {} as never,
  });
  return new Set([...registry.getMetricsAsArray(), ...api.registry.getMetricsAsArray()].map((m) => m.name));
}

describe('the observability profile', () => {
  it('adds Prometheus and Grafana under the profile, and only there', () => {
    for (const name of ['prometheus', 'grafana']) {
      expect(compose.services[name]?.profiles).toEqual(['observability']);
      expect(compose.services[name]?.image).toMatch(/^(prom\/prometheus|grafana\/grafana):v?\d+\.\d+\.\d+$/);
      // Reachable from this host only: no dashboard or metrics open to the network.
      for (const port of compose.services[name]?.ports ?? []) expect(port).toMatch(/^127\.0\.0\.1:/);
    }
    for (const name of ['api', 'worker', 'redis', 'postgres']) expect(compose.services[name]?.profiles).toBeUndefined();
  });

  it('mounts files that exist', () => {
    for (const name of ['prometheus', 'grafana']) {
      for (const v of compose.services[name]?.volumes ?? []) {
        const src = v.split(':')[0] as string;
        if (src.startsWith('./')) expect(existsSync(join(root, src)), `${name}: ${src}`).toBe(true);
      }
    }
  });

  it('Prometheus scrapes the API and every worker replica where they serve /metrics, with the token', () => {
    const jobs = Object.fromEntries(prometheus.scrape_configs.map((j) => [j.job_name, j]));
    expect(jobs['orchex-api']?.static_configs?.[0]?.targets).toEqual(['api:3000']);
    const workerCommand = ([] as string[]).concat(compose.services.worker?.command ?? []).join(' ');
    const port = Number(/--metrics-port (\d+)/.exec(workerCommand)?.[1]);
    expect(port).toBeGreaterThan(0);
    expect(jobs['orchex-worker']?.dns_sd_configs?.[0]).toMatchObject({ names: ['worker'], type: 'A', port });
    const command = ([] as string[]).concat(compose.services.prometheus?.command ?? []).join(' ');
    for (const job of Object.values(jobs)) {
      expect(job.metrics_path).toBe('/metrics');
      expect(job.authorization?.type).toBe('Bearer');
      // The token file is the one the container writes from ORCHEX_METRICS_TOKEN before Prometheus starts.
      expect(command).toContain(`> ${job.authorization?.credentials_file}`);
    }
    expect(compose.services.prometheus?.environment?.ORCHEX_METRICS_TOKEN).toBe('${ORCHEX_METRICS_TOKEN:-}');
    expect(command).toContain('--config.file=/etc/prometheus/prometheus.yml');
  });

  it('Grafana provisions the Prometheus data source and the dashboard folder the compose file mounts', () => {
    const sources = parse(read('infra/grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: Array<{ uid: string; type: string; url: string }>;
    };
    expect(sources.datasources).toEqual([
      expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090' }),
    ]);
    const providers = parse(read('infra/grafana/provisioning/dashboards/orchex.yml')) as {
      providers: Array<{ options: { path: string } }>;
    };
    const path = providers.providers[0]?.options.path;
    expect(compose.services.grafana?.volumes).toContain(`./infra/grafana/dashboards:${path}:ro`);
    expect(readdirSync(join(root, 'infra/grafana/dashboards'))).toContain('orchex.json');
    // Every panel queries that data source.
    const uid = sources.datasources[0]?.uid;
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) {
      expect(p.datasource?.uid, p.title).toBe(uid);
      for (const t of p.targets ?? []) expect(t.datasource?.uid, p.title).toBe(uid);
    }
  });

  it('the dashboard shows spend, latency, errors and queue depth per model, over metrics orchex exports', () => {
    expect(dashboard.uid).toBe('orchex-overview');
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    const joined = exprs.join('\n');
    expect(joined).toContain('orchex_model_cost_usd_total'); // spend
    expect(joined).toContain('orchex_model_call_duration_seconds_bucket'); // latency
    expect(joined).toMatch(/orchex_model_requests_total\{outcome="failed"\}/); // errors
    expect(joined).toMatch(/orchex_queue_jobs\{state=~"waiting/); // queue depth
    const exported = exportedNames();
    const used = new Set([...joined.matchAll(/\b(orchex_[a-z_]+)/g)].map((m) => m[1] as string));
    for (const name of used) {
      const family = name.replace(/_(bucket|sum|count)$/, '');
      expect(exported.has(name) || exported.has(family), `${name} is not a metric orchex exports`).toBe(true);
    }
    // Panels do not overlap on Grafana's 24-column grid.
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
    }
  });
});
