/**
 * The built packages on Bun and Deno, as review 35 (brief R4) ran them by hand (decision 0221): core + retry,
 * breaker, sse (parsers, connect() and EventSource against the runtime's own server, close() letting the process
 * exit), the CommonJS entries, Deno's type check of the .d.ts and `--location`, and @integ/queue's conformance kit
 * under `bun test` (with and without bun:test's fake timers). Review 36 (decision 0222) runs core + retry, breaker
 * and sse's parsers in a Chromium page and a workerd module worker too (hosted.ts), plus what only those have: CORS
 * in front of Retry-After, module-scope state across workerd requests; and (decision 0223) all of sse in workerd,
 * against the host's streaming relay, with Node as the control. Review 41 (decision 0229) runs the Bun/Deno set on
 * Node 24 and 26 too, with queue's kit on node:sqlite. Each script in checks/ prints `ok`/`FAIL` per check and
 * `== <name> on <runtime>: N/N pass`; this file runs them and pins N.
 *
 * Needs the built dist/ (`corepack pnpm build`; CI's `pnpm check` builds) and the binaries: INTEG_BUN / INTEG_DENO /
 * INTEG_WORKERD / INTEG_NODE24 / INTEG_NODE26, else the cache .ci/setup.d/runtimes.sh installs into; INTEG_CHROMIUM, else /usr/bin/chromium. Without them the file skips loudly; CI sets
 * INTEG_REQUIRE_SERVICES=1, which turns that skip into a failure.
 */
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Host, launchChromium, runWorkerd, startHost } from './hosted.js';

/**
 * The versions the READMEs claim: bun, deno and workerd (its version is its compatibility date; npm's workerd
 * 1.20261117.1) as .ci/setup.d/runtimes.sh installs them, chromium as Debian 12's package was (chromium.sh).
 */
const PINNED = {
  bun: '1.4.5',
  deno: '2.9.6',
  workerd: '2026-11-17',
  chromium: '156.0.8078.108',
  // The Node LTS lines after CI's Node 20 (decision 0229), the registry's `node` package as runtimes.sh installs it.
  node24: '24.21.0',
  node26: '26.10.0',
} as const;
const PACKAGES = ['core', 'retry', 'breaker', 'sse', 'queue'] as const;
type Runtime = keyof typeof PINNED;
/** How each binary prints its version (`workerd 2026-11-17`, `Chromium 156.0.8078.108 built on Debian ...`). */
const VERSION = {
  bun: /\d+\.\d+\.\d+/,
  deno: /\d+\.\d+\.\d+/,
  workerd: /\d{4}-\d\d-\d\d/,
  chromium: /\d+(?:\.\d+)+/,
  node24: /\d+\.\d+\.\d+/,
  node26: /\d+\.\d+\.\d+/,
};

const packagesDir = fileURLToPath(new URL('../packages/', import.meta.url));
const checksDir = fileURLToPath(new URL('./checks/', import.meta.url));
const {
  INTEG_BUN,
  INTEG_CHROMIUM,
  INTEG_DENO,
  INTEG_NODE24,
  INTEG_NODE26,
  INTEG_WORKERD,
  INTEG_RUNTIMES_DIR,
  INTEG_RUNTIMES_KEEP,
  INTEG_REQUIRE_SERVICES,
  XDG_CACHE_HOME,
} = process.env;
const required = INTEG_REQUIRE_SERVICES === '1';
const cacheModules = join(
  INTEG_RUNTIMES_DIR ?? join(XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'integ-runtimes'),
  'node_modules',
);

interface Binary {
  readonly path: string;
  readonly version: string;
}

function defaultPath(runtime: Runtime): string {
  if (runtime === 'chromium') return '/usr/bin/chromium';
  // Installed under aliases (node24@npm:node@24...): each package holds its own binary.
  if (runtime === 'node24' || runtime === 'node26') return join(cacheModules, runtime, 'bin', 'node');
  return join(cacheModules, '.bin', runtime);
}

function locate(runtime: Runtime, override: string | undefined): Binary | undefined {
  const path = override ?? defaultPath(runtime);
  const result = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  const version = result.status === 0 ? VERSION[runtime].exec(result.stdout)?.[0] : undefined;
  return version === undefined ? undefined : { path, version };
}

const binaries: Partial<Record<Runtime, Binary>> = {};
const problems: string[] = [];
for (const [runtime, override] of [
  ['bun', INTEG_BUN],
  ['deno', INTEG_DENO],
  ['workerd', INTEG_WORKERD],
  ['chromium', INTEG_CHROMIUM],
  ['node24', INTEG_NODE24],
  ['node26', INTEG_NODE26],
] as const) {
  const binary = locate(runtime, override);
  if (binary) binaries[runtime] = binary;
  else problems.push(`${runtime} not found at ${override ?? defaultPath(runtime)}`);
  if (binary && binary.version !== PINNED[runtime])
    console.warn(
      `\n!!! runtimes: ${runtime} is ${binary.version}, the READMEs claim ${PINNED[runtime]} !!!\n`,
    );
}
const unbuilt = PACKAGES.filter(
  (name) =>
    !existsSync(join(packagesDir, name, 'dist', 'index.js')) ||
    !existsSync(join(packagesDir, name, 'dist', 'index.cjs')),
);
if (unbuilt.length > 0)
  problems.push(`packages/{${unbuilt.join(',')}}/dist missing (run \`corepack pnpm build\`)`);
// CI sets INTEG_REQUIRE_SERVICES=1: there a missing runtime or build fails this file instead of skipping it.
if (problems.length > 0 && required)
  throw new Error(
    `${problems.join('; ')}, but INTEG_REQUIRE_SERVICES=1: run .ci/setup.d/runtimes.sh (chromium: chromium.sh) and build first`,
  );
if (problems.length > 0)
  console.warn(
    `\n!!! runtimes: ${problems.join('; ')}: SKIPPING ${unbuilt.length > 0 ? 'all' : 'those'} runtime checks.${
      ['bun', 'deno', 'workerd', 'node24', 'node26'].some((runtime) => !(runtime in binaries))
        ? ' Install bun, deno, workerd and Node 24 and 26 with `sh .ci/setup.d/runtimes.sh` (or set INTEG_BUN / INTEG_DENO / INTEG_WORKERD / INTEG_NODE24 / INTEG_NODE26).'
        : ''
    }${
      'chromium' in binaries
        ? ''
        : ' Install chromium with `sh .ci/setup.d/chromium.sh` (or set INTEG_CHROMIUM).'
    } !!!\n`,
  );
const built = unbuilt.length === 0;

/**
 * A directory laid out as `npm install` of the packed packages leaves it: node_modules/@integ/<name> holding
 * package.json (with `workspace:` ranges rewritten, as `pnpm pack` does) and dist/, plus a copy of checks/.
 * Copies, not symlinks into packages/: through a symlink out of node_modules, `deno check` fails on the `.js` import
 * of a chunk in queue's index.d.ts (TS2307), which no user install has; the same files copied pass.
 */
function stage(): string {
  const dir = mkdtempSync(join(tmpdir(), 'integ-runtimes-'));
  const versions = new Map<string, string>();
  const manifests = PACKAGES.map((name) => {
    const manifest = JSON.parse(readFileSync(join(packagesDir, name, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
      dependencies?: Record<string, string>;
    };
    versions.set(manifest.name, manifest.version);
    return [name, manifest] as const;
  });
  for (const [name, manifest] of manifests) {
    const target = join(dir, 'node_modules', '@integ', name);
    mkdirSync(target, { recursive: true });
    cpSync(join(packagesDir, name, 'dist'), join(target, 'dist'), { recursive: true });
    const dependencies = manifest.dependencies ?? {};
    for (const [dependency, range] of Object.entries(dependencies)) {
      const rest = range.startsWith('workspace:') ? range.slice('workspace:'.length) : undefined;
      const version = versions.get(dependency) ?? '';
      if (rest === '*') dependencies[dependency] = version;
      else if (rest === '^' || rest === '~') dependencies[dependency] = `${rest}${version}`;
      else if (rest !== undefined) dependencies[dependency] = rest;
    }
    writeFileSync(join(target, 'package.json'), JSON.stringify(manifest, null, 2));
  }
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'integ-runtimes-check',
      private: true,
      type: 'module',
      dependencies: Object.fromEntries(versions),
    }),
  );
  cpSync(checksDir, dir, { recursive: true });
  return dir;
}

interface Run {
  readonly code: number | null;
  readonly killed: boolean;
  readonly output: string;
}

/** Runs a binary in the staged directory; `killed` when it outlived `timeout` (a process that did not exit). */
function run(
  file: string,
  args: readonly string[],
  cwd: string,
  timeout = 20_000,
  env: Record<string, string> = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd, timeout, env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', ...env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, killed: error?.killed === true, output: `${stdout}${stderr}` });
      },
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(address)));
    });
  });
}

let dir = '';
beforeAll(() => {
  // Node runs the scripts too (the control), so a build is enough.
  if (built) dir = stage();
});
afterAll(() => {
  if (dir && INTEG_RUNTIMES_KEEP === '1') console.warn(`runtimes: staged directory kept: ${dir}`);
  else if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The scripts both runtimes run, with the summary label each prints and its number of checks. */
const SCRIPTS = [
  ['core-retry.mjs', 'core + retry', 16],
  ['breaker.mjs', 'breaker', 9],
  ['sse.mjs', 'sse', 11],
  ['sse-exit.mjs', 'sse close()', 7],
] as const;

/**
 * Node (this process's, 20.20 in CI) as the control: the same scripts, the same counts. What passes here and fails
 * on another runtime is that runtime's difference (decision 0223).
 */
describe.runIf(built)(`node ${process.version} (control)`, () => {
  for (const [script, label, count] of SCRIPTS)
    it(`${script}: ${count}/${count} checks pass and the process exits by itself`, async () => {
      const result = await run(process.execPath, [script], dir);
      expect({ code: result.code, killed: result.killed }, result.output).toEqual({ code: 0, killed: false });
      expect(result.output).toContain(`== ${label} on node ${process.version}: ${count}/${count} pass`);
    });
});

/**
 * Also the Node LTS lines after CI's own Node 20 (decision 0229), which run @integ/queue's conformance kit under
 * node:test against sqliteStore on `node:sqlite` too: CI's Node 20 never loads that driver (the store takes it where
 * better-sqlite3 is missing or built for another Node, as here: the addon in node_modules is Node 20's).
 */
const queueDir = join(packagesDir, 'queue');
for (const runtime of ['bun', 'deno', 'node24', 'node26'] as const) {
  const binary = binaries[runtime];
  const node = runtime === 'node24' || runtime === 'node26';
  const command = (script: string, extra: readonly string[] = []): string[] =>
    node
      ? [...extra, script]
      : runtime === 'bun'
        ? ['run', '--no-install', ...extra, script]
        : ['run', '-A', '--no-lock', ...extra, script];
  // As checks/lib.mjs names it.
  const name = node ? `node v${binary?.version}` : `${runtime} ${binary?.version}`;

  describe.runIf(binary && built)(`${node ? 'node' : runtime} ${binary?.version ?? PINNED[runtime]}`, () => {
    for (const [script, label, count] of SCRIPTS)
      it(`${script}: ${count}/${count} checks pass and the process exits by itself`, async () => {
        const result = await run(binary!.path, command(script), dir);
        expect({ code: result.code, killed: result.killed }, result.output).toEqual({
          code: 0,
          killed: false,
        });
        expect(result.output).toContain(`== ${label} on ${name}: ${count}/${count} pass`);
      });

    it('breaker-exit.mjs: an open breaker with a 60 s openFor does not hold the process', async () => {
      const result = await run(binary!.path, command('breaker-exit.mjs'), dir);
      expect({ code: result.code, killed: result.killed }, result.output).toEqual({ code: 0, killed: false });
      expect(result.output).toContain('closed>open\nstate open - script done');
    });

    it('cjs.cjs: the CommonJS entries load through require() and work', async () => {
      const result = await run(binary!.path, command('cjs.cjs'), dir);
      expect(result.code, result.output).toBe(0);
      const line = result.output.split('\n').find((l) => l.startsWith('{'));
      expect(JSON.parse(line ?? 'null'), result.output).toEqual({
        v: 'ok',
        n: 2,
        open: true,
        events: ['a'],
        pending: 1,
        runtime: node ? 'node' : runtime,
      });
    });

    if (node)
      it("queue's conformance kit under node:test: memoryStore() and sqliteStore() on node:sqlite", async () => {
        const result = await run(
          binary!.path,
          ['--test', '--test-reporter=spec', 'test/node-test-conformance.mjs'],
          queueDir,
          120_000,
          { QUEUE_SQLITE_DRIVER: 'node:sqlite' },
        );
        expect({ code: result.code, killed: result.killed }, result.output).toEqual({
          code: 0,
          killed: false,
        });
        expect(result.output).toContain(
          `queue store conformance: sqlite driver=node:sqlite on node ${binary!.version} (node:test)`,
        );
        // The kit's 53 tests for each store (as under bun test): a suite that registered none would pass with none run.
        expect(result.output).toMatch(/\n\S* ?pass 106\n/);
        expect(result.output).toMatch(/\n\S* ?fail 0\n/);
      });

    if (runtime === 'deno') {
      it("types.ts: deno check of the packages' .d.ts (a wrong payload type is an error)", async () => {
        const result = await run(binary!.path, ['check', '--no-lock', 'types.ts'], dir, 60_000);
        expect(result.code, result.output).toBe(0);
      });

      it('sse-location.mjs: EventSource and connect() resolve relative URLs against --location', async () => {
        const port = await freePort();
        const result = await run(
          binary!.path,
          command('sse-location.mjs', [`--location=http://127.0.0.1:${port}/app/`]),
          dir,
        );
        expect(result.code, result.output).toBe(0);
        expect(result.output).toContain(`== sse --location on ${name}: 2/2 pass`);
      });
    }

    if (runtime === 'bun')
      for (const [kit, count] of [
        ['kit.bun.js', 53],
        ['kit-fake-timers.bun.js', 54],
        ['kit-fake-before-load.bun.js', 54],
      ] as const)
        it(`bun test ${kit}: queue's conformance kit with memoryStore(), ${count} pass`, async () => {
          const result = await run(binary!.path, ['test', `./kit/${kit}`], dir, 60_000);
          expect(result.code, result.output).toBe(0);
          expect(result.output).toMatch(new RegExp(`\\n ${count} pass\\n 0 fail\\n`));
        });
  });
}

/**
 * What a Chromium page and a workerd module worker run (runtimes/hosted.ts): core + retry and breaker whole; serve()
 * goes through the host's relay there. sse: in a page its parsers and encodeEvent (4 of 11; sse's own browser tests
 * run connect() and EventSource in Chromium), in workerd all 11 and sse-exit.mjs's 7, against the host's relay,
 * which streams the handler's body to the worker's fetch chunk by chunk (checks/lib.mjs, relay()).
 */
const HOSTED = [
  ['core-retry.mjs', 'core + retry', 16],
  ['breaker.mjs', 'breaker', 9],
] as const;
/** A page only: sse's parsers, and what retry reads of a cross-origin server's Retry-After (CORS). */
const PAGE_ONLY = [
  ['sse.mjs', 'sse', 4],
  ['cors.mjs', 'cors', 3],
] as const;
/**
 * workerd only: sse whole, close() and an abort leaving no timer and no open body (sse-exit.mjs), and a breaker, a
 * registry and a retry budget kept at module scope, used across requests.
 */
const WORKER_ONLY = [
  ['sse.mjs', 'sse', 11],
  ['sse-exit.mjs', 'sse close()', 7],
  ['workerd-requests.mjs', 'workerd requests', 2],
] as const;

/** Resolves with `promise`, or with `late` after `ms` (a page that never reports fails with what it printed). */
const within = <T>(promise: Promise<T>, ms: number, late: T): Promise<T> =>
  Promise.race([promise, new Promise<T>((resolve) => setTimeout(() => resolve(late), ms).unref())]);

describe.runIf(binaries.chromium && built)(`chromium ${binaries.chromium?.version ?? ''}`, () => {
  let host: Host | undefined;
  let stop: (() => Promise<void>) | undefined;
  let profile = '';
  beforeAll(async () => {
    host = await startHost(
      dir,
      [...HOSTED, ...PAGE_ONLY].map(([script]) => script),
    );
    profile = mkdtempSync(join(tmpdir(), 'integ-runtimes-chromium-'));
    stop = launchChromium(binaries.chromium!.path, host, HOSTED[0][0], profile);
  });
  afterAll(async () => {
    await stop?.();
    await host?.close();
    // Chromium's helper processes may still be writing to the profile when the browser has exited.
    if (profile) rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  });
  for (const [script, label, count] of [...HOSTED, ...PAGE_ONLY])
    it(`${script} in a page (dist/ as ES modules): ${count}/${count} checks pass`, async () => {
      const output = await within(host!.output(script), 30_000, `no output from ${script} in 30 s`);
      expect(output).toContain(
        `== ${label} on chromium ${binaries.chromium!.version}: ${count}/${count} pass`,
      );
    });
});

describe.runIf(binaries.workerd && built)(`workerd ${binaries.workerd?.version ?? ''}`, () => {
  let host: Host | undefined;
  beforeAll(async () => {
    host = await startHost(dir, []);
  });
  afterAll(async () => {
    await host?.close();
  });
  for (const [script, label, count] of [...HOSTED, ...WORKER_ONLY])
    it(`${script} in a module worker: ${count}/${count} checks pass`, async () => {
      const { path, version } = binaries.workerd!;
      const result = await runWorkerd(path, version, dir, script, host!);
      expect(result.code, result.output).toBe(0);
      expect(result.output).toContain(`== ${label} on workerd ${version}: ${count}/${count} pass`);
    });
});
