/**
 * The crash and contention tests fork processes that cannot use vitest's aliases: this bundles the package
 * sources (with @integ/core and @integ/retry) into one ESM file with tsup's API (decision 0031).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const pkg = join(here, '..');
const packages = join(pkg, '..');

/**
 * Builds test/crash/entry.ts into `node_modules/.cache/<name>/entry.js` (inside the package, so the bundle
 * resolves better-sqlite3 from the package's node_modules) and returns the bundle's path.
 */
export async function bundleQueueSources(name: string): Promise<string> {
  const outDir = join(pkg, 'node_modules', '.cache', name);
  const bundle = join(outDir, 'entry.js');
  mkdirSync(outDir, { recursive: true });
  const { build } = await import('tsup');
  await build({
    config: false,
    entry: { entry: join(here, 'crash', 'entry.ts') },
    outDir,
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    dts: false,
    sourcemap: false,
    clean: false,
    silent: true,
    splitting: false,
    noExternal: [/^@integ\//],
    external: ['better-sqlite3'],
    esbuildOptions(options) {
      options.alias = {
        '@integ/core': join(packages, 'core', 'src', 'index.ts'),
        '@integ/retry': join(packages, 'retry', 'src', 'index.ts'),
      };
    },
  });
  if (!existsSync(bundle)) throw new Error(`${name} bundle missing: ${bundle}`);
  return bundle;
}
