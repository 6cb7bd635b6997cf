/**
 * The packages as a user installs them (decision 0228): `pnpm pack` of every published package, then a consumer
 * project that installs those tarballs with pnpm and hoisting off, so an import of a dependency a manifest does not
 * declare fails here as it does under strict pnpm or Yarn PnP. runtimes.test.ts copies dist/ instead and never packs.
 * In the consumer:
 * - every entry of every `exports` map loads through import() and require(), with the same export names;
 * - every bare import in a package's dist/ is declared in its manifest and found from where pnpm installed it;
 * - the workspace's tsc checks a consumer's imports, skipLibCheck off, under nodenext (ESM and CommonJS), under node10
 *   (TypeScript's default for `module: commonjs`) and, for the packages that run in browsers, under bundler
 *   resolution with the DOM library and no Node types.
 * Needs dist/ (`corepack pnpm build`) and the npm registry for msw and dns-packet (pnpm prefers its local store).
 */
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));
const pnpm = join(root, 'node_modules/pnpm/bin/pnpm.cjs');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly exports: Record<string, unknown>;
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}
const packages = readdirSync(join(root, 'packages'))
  .map((dir) => ({
    dir,
    manifest: JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as Manifest,
  }))
  .filter(({ manifest }) => manifest.private !== true);
/** Every import specifier the packages publish: `@integ/queue`, `@integ/queue/sqlite`, ... */
const specifiers = packages.flatMap(({ manifest }) =>
  Object.keys(manifest.exports)
    .filter((key) => !key.endsWith('.json'))
    .map((key) => manifest.name + key.slice(1)),
);
const unbuilt = packages.filter(({ dir }) => !existsSync(join(root, 'packages', dir, 'dist')));
const { INTEG_REQUIRE_SERVICES } = process.env;
if (unbuilt.length > 0 && INTEG_REQUIRE_SERVICES === '1')
  throw new Error(
    `packages/{${unbuilt.map((p) => p.dir).join(',')}}/dist missing: run \`corepack pnpm build\` first`,
  );
if (unbuilt.length > 0)
  console.warn('\n!!! consumer: dist/ missing (run `corepack pnpm build`): SKIPPING !!!\n');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  /** stdout and stderr, for failure messages. */
  readonly output: string;
}
function run(args: readonly string[], cwd: string, timeout = 120_000): Promise<Run> {
  // Not pnpm's CI defaults (a frozen lockfile) nor the settings of the `pnpm test` that runs vitest.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(npm|pnpm)_/i.test(key) && key !== 'CI'),
  );
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, timeout, env }, (error, stdout, stderr) => {
      resolve({
        code: error ? (typeof error.code === 'number' ? error.code : null) : 0,
        stdout,
        output: `${stdout}${stderr}`,
      });
    });
  });
}

interface Line {
  readonly specifier?: string;
  readonly esm?: string[] | string;
  readonly cjs?: string[] | string;
  readonly package?: string;
  readonly imports?: Record<string, boolean>;
}
let loaded: Promise<Line[]> | undefined;
function load(): Promise<Line[]> {
  loaded ??= run(['load.cjs'], join(dir, 'app')).then((result) => {
    expect(result.code, result.output).toBe(0);
    // stdout only: Node 25+ prints an ExperimentalWarning on stderr when msw (in @integ/testing) reads `localStorage`.
    return result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Line);
  });
  return loaded;
}

let dir = '';
let install: Run | undefined;
const typecheck = new Map<string, Promise<Run>>();
beforeAll(async () => {
  if (unbuilt.length > 0) return;
  dir = mkdtempSync(join(tmpdir(), 'integ-consumer-'));
  const tarballs = join(dir, 'tarballs');
  const app = join(dir, 'app');
  mkdirSync(app, { recursive: true });
  const packed = await Promise.all(
    packages.map(({ dir: name }) =>
      run([pnpm, 'pack', '--pack-destination', tarballs], join(root, 'packages', name)),
    ),
  );
  const failed = packed.find((result) => result.code !== 0);
  if (failed) throw new Error(`pnpm pack failed:\n${failed.output}`);
  // The tarballs' own @integ ranges (`^0.0.0`, rewritten from `workspace:^`) must find these files, not the registry.
  const files = Object.fromEntries(
    packages.map(({ manifest }) => [
      manifest.name,
      `file:${join(tarballs, `${manifest.name.slice(1).replace('/', '-')}-${manifest.version}.tgz`)}`,
    ]),
  );
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'integ-consumer',
      private: true,
      type: 'module',
      dependencies: {
        ...files,
        msw: (JSON.parse(readFileSync(join(root, 'node_modules/msw/package.json'), 'utf8')) as Manifest)
          .version,
      },
      pnpm: { overrides: files },
    }),
  );
  writeFileSync(join(app, '.npmrc'), 'hoist=false\nauto-install-peers=false\n');
  install = await run([pnpm, 'install', '--prefer-offline', '--no-frozen-lockfile', '--ignore-scripts'], app);
  writeFileSync(join(app, 'load.cjs'), LOAD);
  writeFileSync(join(app, 'node.mts'), NODE_ESM);
  writeFileSync(join(app, 'node.cts'), NODE_CJS);
  writeFileSync(join(app, 'web.ts'), WEB);
  writeFileSync(join(app, 'node10.ts'), NODE10);
  const compilerOptions = {
    target: 'es2022',
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false,
    noEmit: true,
  };
  const node = {
    ...compilerOptions,
    module: 'nodenext',
    typeRoots: [join(root, 'node_modules/@types')],
    types: ['node'],
  };
  // One program for both: the second file would cost a second full check of msw's types (~15 s here).
  writeFileSync(
    join(app, 'tsconfig.node.json'),
    JSON.stringify({ compilerOptions: node, files: ['node.mts', 'node.cts'] }),
  );
  writeFileSync(
    join(app, 'tsconfig.web.json'),
    JSON.stringify({
      compilerOptions: {
        ...compilerOptions,
        module: 'esnext',
        moduleResolution: 'bundler',
        lib: ['es2022', 'dom', 'dom.iterable'],
        types: [],
      },
      files: ['web.ts'],
    }),
  );
  // TypeScript's default for `module: commonjs` (NestJS's starter, ts-node projects): no `exports`, subpaths need the
  // manifests' typesVersions.
  writeFileSync(
    join(app, 'tsconfig.node10.json'),
    JSON.stringify({
      compilerOptions: { ...node, module: 'commonjs', moduleResolution: 'node10' },
      files: ['node10.ts'],
    }),
  );
  // All at once (two CPUs here); the tests wait for them.
  for (const config of ['node', 'node10', 'web'])
    typecheck.set(config, run([tsc, '-p', `tsconfig.${config}.json`], app));
}, 240_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * In a plain Node process: loads each specifier both ways, and lists the bare imports in each installed package's
 * dist/ (static, dynamic and require()), with whether Node would find that package from there. A lazily loaded
 * dependency (discovery's dns-packet) fails only on first use, so loading the entries alone would not show it missing.
 */
const LOAD = `const { builtinModules } = require('node:module');
const { existsSync, readdirSync, readFileSync, realpathSync } = require('node:fs');
const { dirname, join } = require('node:path');
const specifiers = ${JSON.stringify(specifiers)};
const packages = ${JSON.stringify(packages.map(({ manifest }) => manifest.name))};
const found = (from, name) => {
  for (let at = from; at !== dirname(at); at = dirname(at))
    if (existsSync(join(at, 'node_modules', name, 'package.json'))) return true;
  return false;
};
(async () => {
  for (const specifier of specifiers) {
    const line = { specifier };
    try { line.esm = Object.keys(await import(specifier)).sort(); } catch (e) { line.esm = String(e); }
    try { line.cjs = Object.keys(require(specifier)).sort(); } catch (e) { line.cjs = String(e); }
    console.log(JSON.stringify(line));
  }
  for (const name of packages) {
    const at = realpathSync(join('node_modules', name));
    const imports = {};
    for (const file of readdirSync(join(at, 'dist')).filter((f) => /\\.[cm]?js$/.test(f)))
      // A literal only: tsup's CommonJS shim for import.meta.url has require('u' + 'rl').
      for (const [, from, call] of readFileSync(join(at, 'dist', file), 'utf8').matchAll(
        /\\bfrom\\s*["']([^"'.][^"']*)["']|\\b(?:import|require)\\s*\\(\\s*["']([^"'.][^"']*)["']\\s*\\)/g,
      )) {
        const specifier = from ?? call;
        if (specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
        const dependency = specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
        imports[dependency] = found(at, dependency);
      }
    console.log(JSON.stringify({ package: name, imports }));
  }
})();
`;

const USE = `const options: RetryOptions<number> = { attempts: 2, backoff: exponential({ initial: 1 }) };
export const n: Promise<number> = retry(({ attempt }) => attempt, options);
export const state: BreakerState = createBreaker().state;
export const parser = createParser({ onEvent: (event: SseEvent) => event.data.length });
`;
/**
 * A module that imports every entry (as `m0`, `m1`, ... in the form `line` writes) and misuses retry once: the
 * `@ts-expect-error` fails tsc if retry's types decay to `any`.
 */
const everyEntry = (
  line: (specifier: string, i: number) => string,
): string => `${specifiers.map(line).join('\n')}
export const all = [${specifiers.map((_, i) => `m${i}`).join(', ')}];
// @ts-expect-error attempts is a number
m${specifiers.indexOf('@integ/retry')}.retry(() => 1, { attempts: '2' });
`;
const star = (specifier: string, i: number): string => `import * as m${i} from '${specifier}';`;
const NODE_ESM = `${everyEntry(star)}import { createBreaker, type BreakerState } from '@integ/breaker';
import { exponential, retry, type RetryOptions } from '@integ/retry';
import { createParser, type SseEvent } from '@integ/sse';
import { createQueue, memoryStore } from '@integ/queue';
${USE}
const q = createQueue<{ a: number }>({ name: 'q', store: memoryStore() });
// @ts-expect-error a payload of the wrong type
q.push({ a: 'x' });
`;
const NODE_CJS = everyEntry((specifier, i) => `import m${i} = require('${specifier}');`);
const NODE10 = everyEntry(star);
const WEB = `import * as core from '@integ/core';
import { createBreaker, type BreakerState } from '@integ/breaker';
import { exponential, retry, type RetryOptions } from '@integ/retry';
import { createParser, EventSource, type SseEvent } from '@integ/sse';
export const all = [core];
${USE}
// @ts-expect-error attempts is a number
retry(() => 1, { attempts: '2' });
const source = new EventSource('/events');
source.onmessage = (event) => console.log(event.data.length);
`;

describe.skipIf(unbuilt.length > 0)('the packed packages in a consumer project', () => {
  it('pnpm installs the tarballs with hoisting off', () => {
    expect(install?.code, install?.output).toBe(0);
    for (const { manifest } of packages)
      expect(existsSync(join(dir, 'app/node_modules', manifest.name, 'package.json')), manifest.name).toBe(
        true,
      );
  });

  it('every exports entry loads through import() and require(), with the same names', async () => {
    const lines = await load();
    expect(lines.map((line) => line.specifier).filter(Boolean)).toEqual(specifiers);
    for (const line of lines.filter((line) => line.specifier)) {
      expect(Array.isArray(line.esm), `${line.specifier}: ${line.esm}`).toBe(true);
      expect(line.esm?.length, line.specifier).toBeGreaterThan(0);
      expect(line.cjs, line.specifier).toEqual(line.esm);
    }
  });

  it('every package dist/ imports is declared in its manifest and installed (optional peers aside)', async () => {
    const lines = (await load()).filter((line) => line.package);
    expect(lines.map((line) => line.package)).toEqual(packages.map(({ manifest }) => manifest.name));
    for (const { package: name, imports = {} } of lines) {
      const { manifest } = packages.find((p) => p.manifest.name === name) ?? {};
      const declared = { ...manifest?.dependencies, ...manifest?.peerDependencies };
      for (const [dependency, installed] of Object.entries(imports)) {
        expect(declared, `${name} imports ${dependency}`).toHaveProperty([dependency]);
        const optional = manifest?.peerDependenciesMeta?.[dependency]?.optional === true;
        if (!optional)
          expect(installed, `${name} imports ${dependency}: not found from its install`).toBe(true);
      }
    }
  });

  it.each([
    ['nodenext, ESM and CommonJS', 'node'],
    ['node10 (moduleResolution node, module commonjs)', 'node10'],
    // The packages whose READMEs say they run in browsers (runtimes.test.ts runs them in Chromium).
    ['bundler + DOM, no Node types (core, retry, breaker, sse)', 'web'],
  ])('tsc: %s', async (_, config) => {
    const result = await typecheck.get(config);
    expect(result?.output).toBe('');
    expect(result?.code).toBe(0);
  });
});
