// The layering of orchex, checked in CI (`npm run deps`): core ← providers, db ← queue ← apps, no cycles.
// Packages are libraries: none imports an app, and each imports only the layers below it.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle makes load order matter and the layers meaningless.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-imports-nothing-of-ours',
      severity: 'error',
      comment: 'packages/core is the domain (no I/O); everything else builds on it.',
      from: { path: '^packages/core/src' },
      to: { path: '^(packages/(providers|db|queue|client)|apps)/' },
    },
    {
      name: 'providers-and-db-import-only-core',
      severity: 'error',
      comment: 'providers and db are siblings on the floor above core: neither imports the other or anything higher.',
      from: { path: '^packages/(providers|db)/src' },
      to: { path: '^(packages/(providers|db|queue|client)|apps)/', pathNot: '^packages/$1/' },
    },
    {
      name: 'queue-imports-only-core-db-providers',
      severity: 'error',
      from: { path: '^packages/queue/src' },
      to: { path: '^(packages/client|apps)/' },
    },
    {
      name: 'client-imports-nothing-of-ours',
      severity: 'error',
      comment: 'The client is installable on its own (browsers, Deno, Bun): no server code.',
      from: { path: '^packages/client/src' },
      to: { path: '^(packages/(core|providers|db|queue)|apps)/' },
    },
    {
      name: 'apps-do-not-import-each-other',
      severity: 'error',
      comment: 'Each app is its own composition root; shared logic belongs in a package.',
      from: { path: '^apps/([^/]+)/src' },
      to: { path: '^apps/([^/]+)/', pathNot: '^apps/$1/' },
    },
    {
      name: 'src-does-not-import-tests',
      severity: 'error',
      from: { path: '^(packages|apps)/[^/]+/src' },
      to: { path: '(^test/|/test/)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Follow workspace packages (symlinked into node_modules) to their real files, through their `exports`.
    preserveSymlinks: false,
    tsPreCompilationDeps: true,
    // tsconfig.json's `paths` points @orchex/client at its source (its package exports the built dist/).
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
  },
};
