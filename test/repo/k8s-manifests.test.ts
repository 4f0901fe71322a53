import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envVariablesSchema, parseConfig, parseEnv } from '@orchex/core';
import { fakeProviderEnv } from '@orchex/providers/fake';
import { queueName } from '@orchex/queue';
import { QueueKeys } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

// Parses every manifest of infra/k8s and checks that the pieces fit: what kustomize lists, labels against selectors,
// ports and probe paths, the variables against the env schema, secret and config map references, the worker's drain
// against its grace period, and KEDA's lists against the queues the config creates.

const DIR = fileURLToPath(new URL('../../infra/k8s/', import.meta.url));

type Obj = Record<string, any>;

const kustomization = parse(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as Obj;
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
const docs: Obj[] = files.flatMap((f) =>
  parseAllDocuments(readFileSync(join(DIR, f), 'utf8')).map((d) => {
    expect(d.errors, f).toEqual([]);
    return d.toJS() as Obj;
  }),
);
const ofKind = (kind: string) => docs.filter((d) => d.kind === kind);
const named = (kind: string, name: string) => {
  const found = ofKind(kind).find((d) => d.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} named ${name}`);
  return found;
};
const containers = (d: Obj): Obj[] => d.spec.template.spec.containers;
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

const configMap = named('ConfigMap', 'orchex-config');
const secret = named('Secret', 'orchex-secrets');
const api = named('Deployment', 'orchex-api');
const worker = named('Deployment', 'orchex-worker');
const workloads = [...ofKind('Deployment'), ...ofKind('Job')];

describe('infra/k8s manifests', () => {
  it('kustomize lists every manifest, each one exists, and images name the one the containers use', () => {
    expect([...kustomization.resources].sort()).toEqual([...files].sort());
    const image = kustomization.images[0].name;
    for (const w of workloads) for (const c of containers(w)) expect(c.image, w.metadata.name).toBe(image);
  });

  it('each Deployment selects its own pods, and the Service and PodDisruptionBudgets select existing pods', () => {
    for (const d of ofKind('Deployment')) {
      expect(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels), d.metadata.name).toBe(true);
    }
    const service = named('Service', 'orchex-api');
    expect(matches(service.spec.selector, api.spec.template.metadata.labels)).toBe(true);
    expect(matches(service.spec.selector, worker.spec.template.metadata.labels)).toBe(false);
    const pdbs = ofKind('PodDisruptionBudget');
    expect(pdbs).toHaveLength(2);
    for (const pdb of pdbs) {
      const selected = ofKind('Deployment').filter((d) =>
        matches(pdb.spec.selector.matchLabels, d.spec.template.metadata.labels),
      );
      expect(
        selected.map((d) => d.metadata.name),
        pdb.metadata.name,
      ).toEqual([pdb.metadata.name]);
    }
  });

  it("ports line up: the Service targets the API container port, which is PORT; probes hit /healthz (the worker's liveness /livez) on named ports", () => {
    const service = named('Service', 'orchex-api');
    const apiPorts = containers(api)[0]!.ports as Obj[];
    const target = service.spec.ports[0].targetPort;
    const apiPort = apiPorts.find((p) => p.name === target);
    expect(apiPort?.containerPort).toBe(Number(configMap.data.PORT));
    for (const d of [api, worker]) {
      const c = containers(d)[0]!;
      for (const probe of [c.readinessProbe, c.livenessProbe]) {
        const liveness = probe === c.livenessProbe && d === worker;
        expect(probe.httpGet.path, d.metadata.name).toBe(liveness ? '/livez' : '/healthz');
        expect(
          (c.ports as Obj[]).some((p) => p.name === probe.httpGet.port),
          d.metadata.name,
        ).toBe(true);
      }
    }
    // The worker's health listener is the --metrics-port it is started with.
    const w = containers(worker)[0]!;
    const args: string[] = w.args;
    const metricsPort = Number(args[args.indexOf('--metrics-port') + 1]);
    expect((w.ports as Obj[]).find((p) => p.name === w.readinessProbe.httpGet.port)?.containerPort).toBe(metricsPort);
  });

  it('the worker is given longer to stop than it drains, and the drain is longer than a call may take', () => {
    const args: string[] = containers(worker)[0]!.args;
    const grace = Number(args[args.indexOf('--grace') + 1]);
    expect(grace).toBeGreaterThan(0);
    expect(worker.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(grace);
    const config = parseConfig(parse(named('ConfigMap', 'orchex-config-file').data['orchex.yaml']));
    expect(grace).toBeGreaterThanOrEqual(config.orchestrator.timeout);
  });

  it('every variable is one orchex reads (env schema or a provider key), and the environment parses', () => {
    const known = new Set([...Object.keys(envVariablesSchema.shape), ...Object.keys(fakeProviderEnv('http://x'))]);
    for (const name of Object.keys(configMap.data)) expect(known.has(name), `ConfigMap ${name}`).toBe(true);
    for (const w of workloads) {
      for (const c of containers(w)) {
        for (const e of c.env ?? []) expect(known.has(e.name), `${w.metadata.name} ${e.name}`).toBe(true);
      }
    }
    // What each process would see, placeholders included, is a valid environment.
    for (const d of [api, worker]) {
      const env: Record<string, string> = { ...configMap.data };
      for (const e of containers(d)[0]!.env) env[e.name] = secret.stringData[e.valueFrom.secretKeyRef.key];
      const parsed = parseEnv(env);
      expect(parsed.redisCluster?.nodes.length, d.metadata.name).toBeGreaterThan(0);
      expect(parsed.database.url, d.metadata.name).toMatch(/^postgres:\/\//);
    }
  });

  it('references resolve: config maps, secret keys (each used), the config file mount, ORCHEX_CONFIG', () => {
    const used = new Set<string>();
    for (const w of workloads) {
      const spec = w.spec.template.spec;
      for (const c of spec.containers) {
        for (const from of c.envFrom ?? []) named('ConfigMap', from.configMapRef.name);
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          expect(ref, `${w.metadata.name} ${e.name} comes from the Secret`).toBeDefined();
          expect(ref.name).toBe(secret.metadata.name);
          expect(Object.keys(secret.stringData)).toContain(ref.key);
          used.add(ref.key);
        }
        for (const m of c.volumeMounts ?? []) {
          const volume = (spec.volumes as Obj[]).find((v) => v.name === m.name);
          const cm = named('ConfigMap', volume?.configMap.name);
          for (const item of volume?.configMap.items ?? []) {
            expect(Object.keys(cm.data)).toContain(item.key);
            expect(configMap.data.ORCHEX_CONFIG).toBe(`${m.mountPath}/${item.path}`);
          }
        }
      }
    }
    for (const auth of ofKind('TriggerAuthentication')) {
      for (const ref of auth.spec.secretTargetRef) {
        expect(ref.name).toBe(secret.metadata.name);
        expect(Object.keys(secret.stringData)).toContain(ref.key);
        used.add(ref.key);
      }
    }
    expect([...used].sort()).toEqual(Object.keys(secret.stringData).sort());
    // The migrate Job goes straight to Postgres (its advisory lock needs a session), the rest through PgBouncer.
    const migrate = named('Job', 'orchex-migrate');
    expect(containers(migrate)[0]!.env[0].valueFrom.secretKeyRef.key).toBe('database-url-direct');
  });

  it('the Secret holds placeholders only', () => {
    for (const [key, value] of Object.entries(secret.stringData as Record<string, string>)) {
      expect(value, key).toMatch(/REPLACE_ME/);
    }
  });

  it('KEDA scales the worker Deployment on the wait list of every model queue the config creates', () => {
    const scaled = named('ScaledObject', 'orchex-worker');
    expect(scaled.spec.scaleTargetRef.name).toBe(worker.metadata.name);
    expect(scaled.spec.maxReplicaCount).toBeGreaterThan(scaled.spec.minReplicaCount);
    const config = parseConfig(parse(named('ConfigMap', 'orchex-config-file').data['orchex.yaml']));
    const keys = new QueueKeys(configMap.data.ORCHEX_PREFIX);
    const expected = Object.keys(config.models).map((m) => keys.getKeys(queueName(m)).wait);
    const triggers = scaled.spec.triggers as Obj[];
    expect(triggers.map((t) => t.metadata.listName).sort()).toEqual(expected.sort());
    for (const t of triggers) {
      expect(t.type).toBe('redis-cluster');
      expect(t.metadata.addresses).toBe(configMap.data.ORCHEX_REDIS_NODES);
      named('TriggerAuthentication', t.authenticationRef.name);
      expect(Number(t.metadata.listLength)).toBeGreaterThan(0);
    }
  });
});
