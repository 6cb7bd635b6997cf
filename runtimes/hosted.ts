/**
 * The checks in runtimes where they cannot start a server of their own or print to a terminal we read: a Chromium
 * page and a workerd module worker. A node:http server on loopback (the host) serves the staged directory (the
 * page loads dist/ as ES modules through an import map, unbundled), takes each page's output, and relays the
 * requests a check's serve() gets to the handler in the page or worker (checks/lib.mjs, relay()). For a worker the
 * relay streams: the host writes each chunk of the handler's body to the client as the worker posts it, so an SSE
 * client in workerd reads events from a real loopback server one at a time (decision 0223); a page's bodies come
 * whole.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

/** What a page or worker printed (`ok`/`FAIL` lines and the summary), or why it printed nothing. */
export type Output = string;

interface Job {
  readonly seq: number;
  readonly method: string;
  readonly url: string;
  readonly headers: [string, string][];
  readonly response: ServerResponse;
  /** The client went away before the response ended: the relay cancels the handler's body. */
  hungUp: boolean;
}

interface Relay {
  /** Requests for the relay's handler, and notices of clients gone (`{ gone: seq }`), in order. */
  readonly jobs: (Job | { readonly gone: number })[];
  poller: ServerResponse | undefined;
  closed: boolean;
}

/** The loopback host: static files of `dir`, a page per check script, the relay, and the outputs. */
export interface Host {
  /** `http://127.0.0.1:<port>`: the page's origin and where pages and workers poll. */
  readonly origin: string;
  /** `http://localhost:<port>`: the same server as another origin, for cross-origin requests from a page. */
  readonly crossOrigin: string;
  /** Resolves with what the page running `script` posted to `/done/<script>`. */
  output(script: string): Promise<Output>;
  close(): Promise<void>;
}

const PACKAGES = ['core', 'retry', 'breaker', 'sse'] as const;

const bytes = (request: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
const body = async (request: IncomingMessage): Promise<string> => (await bytes(request)).toString('utf8');

/**
 * A page that runs `script` (a check, top-level await and all) with the packages' dist/ files mapped by an import
 * map, then posts its output and goes on to `next` (one browser, one script per page load: a fresh module graph).
 */
function page(script: string, next: string | undefined, crossOrigin: string): string {
  const imports = Object.fromEntries(
    PACKAGES.map((name) => [`@integ/${name}`, `/node_modules/@integ/${name}/dist/index.js`]),
  );
  return `<!doctype html>
<meta charset="utf-8">
<title>${script}</title>
<script type="importmap">${JSON.stringify({ imports })}</script>
<script type="module">
globalThis.INTEG_HOST = location.origin;
globalThis.INTEG_RELAY_ORIGIN = ${JSON.stringify(crossOrigin)};
const { fullVersionList = [] } = await navigator.userAgentData.getHighEntropyValues(['fullVersionList']);
globalThis.INTEG_RUNTIME = 'chromium ' + fullVersionList.find((entry) => entry.brand === 'Chromium')?.version;
const lib = await import('/lib.mjs');
let text;
try {
  await import(${JSON.stringify(`/${script}`)});
  text = lib.output.join('\\n');
} catch (error) {
  text = lib.output.join('\\n') + '\\nFAIL loading ${script}: ' + (error?.stack ?? error);
}
await fetch(${JSON.stringify(`/done/${script}`)}, { method: 'POST', body: text });
${next === undefined ? '' : `location.href = ${JSON.stringify(`/run/${next}`)};`}
</script>
`;
}

/** Starts the host on 127.0.0.1 (a free port), serving `dir`; `scripts` is the order a page runs them in. */
export async function startHost(dir: string, scripts: readonly string[]): Promise<Host> {
  const relays = new Map<string, Relay>();
  const waiting = new Map<number, Job>();
  const outputs = new Map<string, { promise: Promise<Output>; resolve(text: Output): void }>();
  const slot = (script: string) => {
    let entry = outputs.get(script);
    if (!entry) {
      let resolve!: (text: Output) => void;
      const promise = new Promise<Output>((r) => {
        resolve = r;
      });
      entry = { promise, resolve };
      outputs.set(script, entry);
    }
    return entry;
  };
  const relayOf = (id: string): Relay => {
    let relay = relays.get(id);
    if (!relay) {
      relay = { jobs: [], poller: undefined, closed: false };
      relays.set(id, relay);
    }
    return relay;
  };
  const hand = (relay: Relay): void => {
    const job = relay.jobs[0];
    if (!relay.poller || (!job && !relay.closed)) return;
    const poller = relay.poller;
    relay.poller = undefined;
    if (!job) {
      poller.writeHead(204).end();
      return;
    }
    relay.jobs.shift();
    const message =
      'gone' in job
        ? { gone: job.gone }
        : { seq: job.seq, method: job.method, url: job.url, headers: job.headers };
    poller.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(message));
  };
  let seq = 0;
  let crossOrigin = '';

  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const [, kind = '', name = ''] = url.pathname.split('/');
    if (kind === 'relay') {
      const headers: [string, string][] = [];
      for (let i = 0; i < request.rawHeaders.length; i += 2)
        headers.push([request.rawHeaders[i] ?? '', request.rawHeaders[i + 1] ?? '']);
      const relay = relayOf(name);
      const job: Job = {
        seq: ++seq,
        method: request.method ?? 'GET',
        url: `http://${request.headers.host}${url.pathname}${url.search}`,
        headers,
        response,
        hungUp: false,
      };
      waiting.set(job.seq, job);
      // A client that hangs up (an aborted fetch, the idleTimeout watchdog) before the handler's body ends.
      response.on('close', () => {
        waiting.delete(job.seq);
        if (response.writableFinished) return;
        job.hungUp = true;
        relay.jobs.push({ gone: job.seq });
        hand(relay);
      });
      relay.jobs.push(job);
      hand(relay);
      return;
    }
    if (kind === 'poll') {
      const relay = relayOf(name);
      relay.poller = response;
      hand(relay);
      return;
    }
    if (kind === 'close') {
      const relay = relayOf(name);
      relay.closed = true;
      hand(relay);
      response.writeHead(204).end();
      return;
    }
    // The handler's response, streamed: the head, each chunk as the handler's body gives it (written and sent at
    // once, as an SSE server flushes each event), then the end, or an abort when the body errored. 410: gone.
    if (kind === 'head' || kind === 'chunk' || kind === 'end' || kind === 'abort') {
      const job = waiting.get(Number(name));
      const data = await bytes(request);
      if (!job || job.hungUp) return void response.writeHead(410).end();
      if (kind === 'head') {
        const reply = JSON.parse(data.toString('utf8')) as {
          status: number;
          headers: [string, string][];
          body?: string;
        };
        const headers = new Map(reply.headers);
        // A handler that sets no CORS header of its own gets the permissive ones: its headers (Retry-After) readable.
        if (!headers.has('access-control-allow-origin')) {
          headers.set('access-control-allow-origin', '*');
          headers.set('access-control-expose-headers', '*');
        }
        job.response.writeHead(reply.status, Object.fromEntries(headers));
        // A page's relay sends the body whole with the head (checks/lib.mjs).
        if (reply.body === undefined) job.response.flushHeaders();
        else job.response.end(reply.body);
      } else if (kind === 'chunk' || kind === 'end') {
        // Written (flushed to the socket), or the client hung up meanwhile: a write to a closed socket may never
        // call back.
        await new Promise<void>((resolve) => {
          const done = (): void => {
            job.response.off('close', done);
            resolve();
          };
          job.response.on('close', done);
          if (kind === 'chunk') job.response.write(data, done);
          else job.response.end(done);
        });
        if (job.hungUp) return void response.writeHead(410).end();
      } else {
        job.response.destroy();
      }
      response.writeHead(204).end();
      return;
    }
    if (kind === 'done') {
      slot(name).resolve(await body(request));
      response.writeHead(204).end();
      return;
    }
    if (kind === 'run') {
      const next = scripts[scripts.indexOf(name) + 1];
      response
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(page(name, next, crossOrigin));
      return;
    }
    const file = normalize(join(dir, url.pathname));
    if (!file.startsWith(dir)) return void response.writeHead(403).end();
    try {
      const text = readFileSync(file);
      const type = /\.m?js$/.test(file) ? 'text/javascript' : 'application/octet-stream';
      response.writeHead(200, { 'content-type': type }).end(text);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  crossOrigin = `http://localhost:${port}`;
  return {
    origin: `http://127.0.0.1:${port}`,
    crossOrigin,
    output: (script) => slot(script).promise,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The flags of /work/shared/TOOLCHAIN.md (headless Debian chromium, nothing in the background). */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Runs chromium on `host`'s page for the first script (each page goes on to the next one) with a fresh profile in
 * `profile`; returns a function that ends the browser and its helper processes.
 */
export function launchChromium(
  path: string,
  host: Host,
  first: string,
  profile: string,
): () => Promise<void> {
  // Its own process group: the helpers (zygote, renderer) may still write to the profile after the browser exits.
  const child = spawn(
    path,
    [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, `${host.origin}/run/${first}`],
    {
      stdio: 'ignore',
      detached: true,
    },
  );
  const group = -(child.pid ?? 0);
  const alive = (): boolean => {
    try {
      process.kill(group, 0);
      return true;
    } catch {
      return false;
    }
  };
  return async () => {
    if (!child.pid) return;
    process.kill(group, 'SIGTERM');
    for (let i = 0; i < 250 && alive(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    if (alive()) process.kill(group, 'SIGKILL');
  };
}

/**
 * Runs `script` as a module worker in workerd (`workerd test`): a worker that imports it (its checks queue while
 * modules load, checks/lib.mjs) and runs the queue in its test handler, where timers and fetch are allowed. The
 * packages' dist/ files are modules named `@integ/<name>`; workerd resolves a bare import relative to the importing
 * module's name (`@integ/core` from `@integ/retry` is `@integ/@integ/core`), so those names re-export the real ones.
 */
export function runWorkerd(
  path: string,
  version: string,
  dir: string,
  script: string,
  host: Host,
): Promise<{ code: number | null; output: Output }> {
  const base = script.replace(/\.mjs$/, '');
  const worker = `worker-${base}.mjs`;
  writeFileSync(
    join(dir, worker),
    `import { output, runQueued } from './lib.mjs';
import * as script from './${script}';
export default {
  fetch: (request) => script.fetch?.(request) ?? new Response('no fetch in ${script}', { status: 404 }),
  async test(controller, env) {
    globalThis.INTEG_HOST = env.HOST;
    globalThis.INTEG_SELF = env.SELF;
    globalThis.INTEG_RUNTIME = 'workerd ' + env.VERSION;
    await runQueued();
    if (output.some((line) => line.startsWith('FAIL'))) throw new Error('${script}: a check failed');
  },
};
`,
  );
  for (const name of PACKAGES) writeFileSync(join(dir, `alias-${name}.mjs`), `export * from '../${name}';\n`);
  const modules = [
    [worker, worker],
    ['lib.mjs', 'lib.mjs'],
    [script, script],
    ...PACKAGES.flatMap((name) => [
      [`@integ/${name}`, `node_modules/@integ/${name}/dist/index.js`],
      [`@integ/@integ/${name}`, `alias-${name}.mjs`],
    ]),
  ];
  const config = join(dir, `workerd-${base}.capnp`);
  writeFileSync(
    config,
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "checks", worker = .checks),
    # The host is on loopback, which workerd's default network refuses.
    (name = "loopback", network = (allow = ["local"])),
  ],
);
const checks :Workerd.Worker = (
  modules = [
${modules.map(([name, file]) => `    (name = ${JSON.stringify(name)}, esModule = embed ${JSON.stringify(file)})`).join(',\n')}
  ],
  bindings = [
    (name = "HOST", text = ${JSON.stringify(host.origin)}),
    (name = "VERSION", text = ${JSON.stringify(version)}),
    # Each env.SELF.fetch() is a request of its own (a check across requests, workerd-requests.mjs).
    (name = "SELF", service = "checks"),
  ],
  # No compatibility flags (no nodejs_compat): web-standard APIs only, at the binary's own date.
  compatibilityDate = ${JSON.stringify(version)},
  globalOutbound = "loopback",
);
`,
  );
  return new Promise((resolve) => {
    execFile(path, ['test', '--verbose', config], { cwd: dir, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}
