import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// No container engine runs here, so docker compose cannot be tried: check what can be checked without one.
const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (p: string) => readFileSync(join(root, p), 'utf8');
const compose = parse(read('docker-compose.yml')) as {
  services: Record<
    string,
    {
      command?: string[];
      build?: { context: string; dockerfile: string };
      healthcheck?: unknown;
      profiles?: string[];
      deploy?: { replicas?: number };
      depends_on?: Record<string, { condition: string }>;
      environment?: Record<string, string>;
    }
  >;
};
const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;

describe('docker-compose.yml and infra/Dockerfile', () => {
  it('has the services users expect', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'api',
      'fake-llm',
      'grafana',
      'migrate',
      'postgres',
      'prometheus',
      'redis',
      'worker',
    ]);
    expect(compose.services['fake-llm']?.profiles).toEqual(['demo']);
    expect(compose.services.worker?.deploy?.replicas).toBeGreaterThanOrEqual(1);
    expect(compose.services.redis?.healthcheck).toBeDefined();
    expect(compose.services.postgres?.healthcheck).toBeDefined();
  });

  it('runs Redis durably: AOF every second, never evicting jobs', () => {
    const cmd = compose.services.redis?.command?.join(' ') ?? '';
    expect(cmd).toMatch(/--appendonly yes/);
    expect(cmd).toMatch(/--appendfsync everysec/);
    expect(cmd).toMatch(/--maxmemory-policy noeviction/);
  });

  it('starts api and workers only after migrations succeeded', () => {
    for (const s of ['api', 'worker'])
      expect(compose.services[s]?.depends_on?.migrate?.condition).toBe('service_completed_successfully');
  });

  it('runs orchex processes as the npm scripts do: node on a file of the compiled build', () => {
    // test/repo/compiled-build.test.ts runs those scripts' files; here each service must run one of them.
    const compiled = Object.values(scripts).flatMap((s) => /^node (dist\/\S+\.js)$/.exec(s)?.[1] ?? []);
    for (const name of ['migrate', 'api', 'worker', 'fake-llm']) {
      const cmd = compose.services[name]?.command ?? [];
      expect(cmd[0], name).toBe('node');
      expect(compiled, name).toContain(cmd[1]);
    }
  });

  it('the Dockerfile copies paths that exist', () => {
    const docker = read('infra/Dockerfile');
    // COPY --from=<stage> copies from an earlier stage, not from the checkout.
    const sources = [...docker.matchAll(/^COPY\s+(?!--from)(.+)\s+\S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    expect(sources.length).toBeGreaterThan(3);
    for (const src of sources) expect(existsSync(join(root, src)), src).toBe(true);
    // Every workspace package's manifest is copied before `npm ci`, or the install would miss it.
    const workspaces = ['packages', 'apps'].flatMap((dir) =>
      readdirSync(join(root, dir))
        .filter((d) => existsSync(join(root, dir, d, 'package.json')))
        .map((d) => `${dir}/${d}`),
    );
    for (const ws of workspaces)
      expect(docker, `infra/Dockerfile must COPY ${ws}/package.json`).toContain(`${ws}/package.json`);
  });

  it('the image builds with the dev dependencies and runs the build with the production ones only', () => {
    const stages = read('infra/Dockerfile')
      .split(/^FROM /m)
      .slice(1);
    const build = stages.find((s) => /^\S+ AS build$/m.test(s)) ?? '';
    const runtime = stages.at(-1) ?? '';
    expect(build).toMatch(/^RUN npm ci --ignore-scripts /m);
    expect(build).toMatch(/^RUN npm run build$/m);
    expect(runtime).toMatch(/^RUN npm ci --omit=dev /m);
    expect(runtime).toMatch(/^COPY --from=build \/app\/dist dist$/m);
    expect(runtime).toMatch(/^CMD \["node", "dist\/api\.js"\]$/m);
    // No TypeScript source in the image: it runs the build.
    expect(runtime).not.toMatch(/^COPY (packages|apps|scripts) /m);
  });

  it('the demo override points every provider of api and worker at the fake server of the demo profile', () => {
    const demo = parse(read('docker-compose.demo.yml')) as {
      services: Record<string, { environment?: Record<string, string> }>;
    };
    for (const s of ['api', 'worker']) {
      const env = demo.services[s]?.environment ?? {};
      for (const v of ['ANTHROPIC_BASE_URL', 'OPENAI_BASE_URL', 'GOOGLE_BASE_URL', 'OLLAMA_BASE_URL'])
        expect(env[v]).toMatch(/^http:\/\/fake-llm:4010/);
    }
    expect(Object.keys(demo.services).every((s) => s in compose.services)).toBe(true);
  });

  it('.env.example names the variables the code reads, with no real secrets', () => {
    const example = read('.env.example');
    for (const v of ['ORCHEX_API_KEYS', 'ORCHEX_ADMIN_KEY', 'ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GOOGLE_API_KEY'])
      expect(example).toContain(v);
    expect(example).not.toMatch(/sk-ant-[A-Za-z0-9]{10,}|sk-[A-Za-z0-9]{30,}|AIza[0-9A-Za-z_-]{30,}/);
  });
});
