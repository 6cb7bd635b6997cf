/**
 * Every error class of every @integ entry point keeps its `name` through a minifying bundler: esbuild, terser
 * and the like rename classes, and a `name` read from `constructor.name` printed `q: Retry gave up...`.
 * The entry points are bundled with tsup (esbuild) minified, as a browser app's build would, then loaded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packages = fileURLToPath(new URL('../../', import.meta.url));
const entries: Record<string, string> = {
  core: 'core/src/index.ts',
  retry: 'retry/src/index.ts',
  breaker: 'breaker/src/index.ts',
  sse: 'sse/src/index.ts',
  discovery: 'discovery/src/index.ts',
  'discovery-dns': 'discovery/src/dns.ts',
  'discovery-health': 'discovery/src/health.ts',
  'discovery-etcd': 'discovery/src/etcd.ts',
  queue: 'queue/src/index.ts',
  'queue-sqlite': 'queue/src/sqlite.ts',
  'queue-testing': 'queue/src/testing.ts',
};

let outDir: string;

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'integ-names-'));
  const { build } = await import('tsup');
  await build({
    config: false,
    entry: Object.fromEntries(Object.entries(entries).map(([name, path]) => [name, join(packages, path)])),
    outDir,
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    minify: true,
    dts: false,
    sourcemap: false,
    silent: true,
    splitting: false,
    noExternal: [/^@integ\//],
    external: ['better-sqlite3', 'vitest', 'msw'],
    esbuildOptions(options) {
      options.alias = Object.fromEntries(
        ['core', 'retry', 'breaker', 'sse', 'discovery', 'queue', 'testing'].map((name) => [
          `@integ/${name}`,
          join(packages, name, 'src', 'index.ts'),
        ]),
      );
    },
  });
}, 60_000);

afterAll(() => {
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe('error names survive minification', () => {
  it.each(Object.keys(entries))('%s', async (entry) => {
    const module: Record<string, unknown> = await import(pathToFileURL(join(outDir, `${entry}.js`)).href);
    const errors = Object.entries(module).filter(
      (pair): pair is [string, abstract new (...args: never[]) => Error] =>
        typeof pair[1] === 'function' && pair[1].prototype instanceof Error,
    );
    if (entry === 'core' || entry === 'retry' || entry === 'queue') expect(errors.length).toBeGreaterThan(1);
    for (const [exported, ErrorClass] of errors) {
      // Built as that class by its root @integ error's constructor (the one right below Error), whatever the
      // class's own constructor takes: `name` is set there, from new.target.
      let root = ErrorClass as unknown as new (...args: unknown[]) => Error;
      while (Object.getPrototypeOf(root) !== Error) root = Object.getPrototypeOf(root);
      const instance = Reflect.construct(root, ['ERR_TEST', 'test'], ErrorClass);
      expect({ exported, name: instance.name, className: ErrorClass.name }).toEqual({
        exported,
        name: exported,
        className: exported,
      });
    }
  });
});
