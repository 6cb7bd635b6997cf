/**
 * Support for browser.test.ts (not exported): bundles the package's main entry for the browser with esbuild,
 * launches Debian's chromium through playwright-core, and the in-page harness that runs one scenario with
 * the native `window.EventSource` or with ours and records what a page script can observe of it.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/** Where Debian's `chromium` package puts the browser (.ci/setup.d/chromium.sh installs it). */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Whether /usr/bin/chromium is there, warning loudly when it is not (the caller skips `what`). Under
 * `INTEG_REQUIRE_SERVICES=1` (CI) a missing chromium throws instead, failing the file.
 */
export function chromiumAvailable(what: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  const { INTEG_REQUIRE_SERVICES } = process.env;
  if (INTEG_REQUIRE_SERVICES === '1')
    throw new Error(`${CHROMIUM} is missing but INTEG_REQUIRE_SERVICES=1: run .ci/setup.d/chromium.sh`);
  console.warn(
    `\n!!! @integ/sse: ${CHROMIUM} is missing, SKIPPING ${what}. Install it with \`apt-get install -y chromium\` (CI runs .ci/setup.d/chromium.sh). !!!\n`,
  );
  return false;
}

const source = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/**
 * `src/index.ts` as one ES module for the browser, with @integ/core and @integ/retry taken from their
 * sources as the vitest config aliases them (tests run before any build). Throws when esbuild cannot
 * bundle it for `platform: 'browser'`, e.g. because the entry reaches a `node:` module.
 */
export async function bundleEntry(): Promise<string> {
  const result = await build({
    entryPoints: [source('./index.ts')],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    alias: {
      '@integ/core': source('../../core/src/index.ts'),
      '@integ/retry': source('../../retry/src/index.ts'),
    },
    logLevel: 'silent',
  });
  if (result.warnings.length > 0) throw new Error(`esbuild warned: ${JSON.stringify(result.warnings)}`);
  return result.outputFiles[0]?.text ?? '';
}

/** A headless chromium with one page, on a fresh profile removed by `close()`. */
export interface TestBrowser {
  readonly page: Page;
  close(): Promise<void>;
}

/** Launches /usr/bin/chromium headless with the flags of /work/shared/TOOLCHAIN.md and a fresh profile. */
export async function launchChromium(): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'integ-sse-chromium-'));
  let context: BrowserContext | undefined;
  try {
    // A persistent context is playwright's way to pass --user-data-dir (launch() refuses it in args).
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const opened = context;
    return {
      page,
      close: async () => {
        await opened.close().catch(() => {});
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await context?.close().catch(() => {});
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
}

type Module = typeof import('./index.js');

/** What a scenario's page script gets: the class under test and helpers that record into one trace. */
export interface PageRun {
  /** `'native'` (window.EventSource) or `'ours'` (the bundle's). */
  readonly impl: 'native' | 'ours';
  /** The class under test. */
  readonly ES: typeof EventSource;
  /** The whole bundle, for `connect()`. */
  readonly sse: Module;
  /** The page's own origin, e.g. `http://127.0.0.1:40000`. */
  readonly origin: string;
  /** A cross-origin twin of `origin` (`localhost` instead of `127.0.0.1`, same server). */
  readonly crossOrigin: string;
  /** What was recorded, in order: compared between the two runs. */
  readonly trace: unknown[];
  /** Kept out of the comparison: `isTrusted` of each recorded event (no script can make a trusted event). */
  readonly aside: unknown[];
  /** Absolute URL of `path` in this run's namespace on the server (`/<impl>/<scenario>/<path>`). */
  url(path: string, origin?: string): string;
  /**
   * `new ES(url, init)`, closed when the run ends. Ours also gets `backoff: () => 0`, so it waits exactly
   * the server's `retry:` as a browser does (README, connect(): "To wait exactly the server's retry:, as
   * browsers do, pass backoff: () => 0"); the native class ignores the extra dictionary member.
   */
  open(url: string, init?: Record<string, unknown> | null): EventSource;
  /** Records every `open`, `error`, `message` and `types` event of `source` under `label`. */
  watch(source: EventSource, label: string, types?: readonly string[]): void;
  /** What one event looks like to a listener of `source`, `isTrusted` aside. */
  describe(event: Event, source: EventSource): Record<string, unknown>;
  /** Whether an event with this `data` was recorded. */
  seen(data: string): boolean;
  /** Resolves once `check()` is true, or after `ms` with a `{ timeout: label }` entry in the trace. */
  until(check: () => boolean, label: string, ms?: number): Promise<void>;
  sleep(ms: number): Promise<void>;
  /** Closes every source `open()` made. */
  closeAll(): void;
}

/**
 * Runs in the page (serialized with `toString()`, so it refers to nothing outside itself): defines
 * `window.makeRun(impl, scenario, crossOrigin)`, which returns a {@link PageRun}.
 */
export function installHarness(sse: Module): void {
  const native = globalThis.EventSource;
  const makeRun = (impl: 'native' | 'ours', scenario: string, crossOrigin: string): PageRun => {
    const opened: EventSource[] = [];
    const run: PageRun = {
      impl,
      ES: impl === 'native' ? native : (sse.EventSource as unknown as typeof EventSource),
      sse,
      origin: location.origin,
      crossOrigin,
      trace: [],
      aside: [],
      url: (path, origin = location.origin) => `${origin}/${impl}/${scenario}/${path}`,
      open(url, init = {}) {
        // A null init is passed as is (WebIDL reads it as an empty dictionary).
        const created = new run.ES(
          url,
          (init && { backoff: () => 0, ...init }) as unknown as EventSourceInit,
        );
        opened.push(created);
        return created;
      },
      describe(event, target) {
        const message = event instanceof MessageEvent;
        return {
          type: event.type,
          readyState: target.readyState,
          message,
          constructor: event.constructor.name,
          ...(message
            ? {
                data: event.data,
                lastEventId: event.lastEventId,
                origin: event.origin,
                source: event.source,
                ports: event.ports.length,
              }
            : {}),
          bubbles: event.bubbles,
          cancelable: event.cancelable,
          composed: event.composed,
          target: event.target === target,
          phase: event.eventPhase,
        };
      },
      watch(target, label, types = []) {
        for (const type of ['open', 'error', 'message', ...types])
          target.addEventListener(type, (event) => {
            run.trace.push({ at: label, ...run.describe(event, target) });
            run.aside.push(`${label} ${type} isTrusted:${event.isTrusted}`);
          });
      },
      seen: (data) => run.trace.some((entry) => (entry as { data?: unknown }).data === data),
      async until(check, label, ms = 5000) {
        const end = Date.now() + ms;
        while (!check()) {
          if (Date.now() > end) {
            run.trace.push({ timeout: label });
            return;
          }
          await run.sleep(5);
        }
      },
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      closeAll() {
        for (const each of opened) each.close();
      },
    };
    return run;
  };
  (globalThis as unknown as { makeRun: typeof makeRun }).makeRun = makeRun;
}

/** The page: loads the bundle, installs the harness, then sets `window.ready`. */
export const PAGE_HTML: string = `<!doctype html>
<meta charset="utf-8">
<title>@integ/sse in a browser</title>
<script type="module">
import * as sse from '/bundle.js';
// A same-origin cookie, to see which requests carry it (credentials).
document.cookie = 'session=1; path=/';
(${installHarness.toString()})(sse);
window.ready = true;
</script>
`;
