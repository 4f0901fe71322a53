/**
 * A file a module reads at run time, wherever the module runs from. From source (tsx, vitest) `moduleUrl` is the
 * module's own .ts file and `fromSource` is relative to it; compiled, every module is bundled into dist/ (see
 * scripts/build.ts), which copies such files beside the bundles, and `fromBuild` is relative to the bundle. Pass the
 * caller's `import.meta.url`.
 */
export function runtimeFile(moduleUrl: string, fromSource: string, fromBuild: string): URL {
  return new URL(moduleUrl.endsWith('.ts') ? fromSource : fromBuild, moduleUrl);
}
