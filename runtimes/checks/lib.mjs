// Shared harness for the runtime checks: runs on Node, Deno, Bun, in a Chromium page and in workerd.
// In a page or in workerd the host (runtimes/hosted.ts) reads `output` and answers serve()'s relay.
const agent = globalThis.navigator?.userAgent ?? '';
/** workerd forbids timers and I/O while a module loads: there check() queues and runQueued() runs the queue. */
const workerd = agent === 'Cloudflare-Workers';
let queued = workerd ? [] : undefined;
export const runtime =
  typeof Deno !== 'undefined'
    ? `deno ${Deno.version.deno}`
    : typeof Bun !== 'undefined'
      ? `bun ${Bun.version}`
      : workerd
        ? 'workerd'
        : typeof document !== 'undefined'
          ? `chromium ${/Chrome\/([\d.]+)/.exec(agent)?.[1] ?? agent}`
          : `node ${process.version}`;
/** Whether serve() goes through the host's relay: no server of our own in a page or a worker. */
const hosted = workerd || typeof document !== 'undefined';
const results = [];
/** Every line printed, for a host that cannot read the console. */
export const output = [];
function print(line) {
  output.push(line);
  console.log(line);
}
/** Runs fn as one check. `{ ownServer: true }`: it needs a streaming server of the runtime's own, skipped when hosted. */
export async function check(name, fn, { ownServer = false } = {}) {
  if (ownServer && hosted) return print(`skip ${name} (needs a server of the runtime's own)`);
  if (queued) return void queued.push(() => run(name, fn));
  return run(name, fn);
}
async function run(name, fn) {
  try {
    await fn();
    results.push({ name, ok: true });
    print(`ok   ${name}`);
  } catch (e) {
    results.push({ name, ok: false });
    print(
      `FAIL ${name}\n     ${String(e?.stack ?? e)
        .split('\n')
        .slice(0, 4)
        .join('\n     ')}`,
    );
  }
}
export function summary(label) {
  if (queued) return void queued.push(() => report(label));
  report(label);
}
function report(label) {
  const failed = results.filter((r) => !r.ok).length;
  // Set by the host's page or worker once it runs: workerd's version (a binding), Chromium's full one (the user
  // agent string says 156.0.0.0).
  const name = globalThis.INTEG_RUNTIME ?? runtime;
  print(`== ${label} on ${name}: ${results.length - failed}/${results.length} pass`);
  if (!failed) return;
  if (globalThis.process) process.exitCode = 1;
  else if (typeof Deno !== 'undefined') Deno.exitCode = 1;
}
/** workerd: runs what check() and summary() queued, inside a handler where timers and fetch are allowed. */
export async function runQueued() {
  const queue = queued ?? [];
  queued = undefined;
  for (const next of queue) await next();
}
export function assert(cond, msg) {
  if (!cond) throw new Error(`assert: ${msg}`);
}
export function eq(a, b, msg) {
  const [x, y] = [JSON.stringify(a), JSON.stringify(b)];
  if (x !== y) throw new Error(`${msg}: got ${x}, want ${y}`);
}
export async function rejects(p, test, msg) {
  try {
    await p;
  } catch (e) {
    if (!test(e)) throw new Error(`${msg}: wrong rejection ${e?.name} ${e?.code} ${e?.message}`);
    return e;
  }
  throw new Error(`${msg}: resolved`);
}
export const wait = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A loopback HTTP server with the runtime's own API: handler(Request) => Response. In a page or in workerd, the
 * host's server takes the requests and relays each to handler here (bodies buffered, not streamed).
 */
export async function serve(handler) {
  if (hosted) return relay(handler);
  if (typeof Deno !== 'undefined') {
    const server = Deno.serve({ port: 0, hostname: '127.0.0.1', onListen() {} }, handler);
    return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
  }
  if (typeof Bun !== 'undefined') {
    const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: handler });
    return { url: `http://127.0.0.1:${server.port}`, close: async () => server.stop(true) };
  }
  const { createServer } = await import('node:http');
  const server = createServer(async (req, res) => {
    const response = await handler(
      new Request(`http://127.0.0.1${req.url}`, { headers: req.headers, method: req.method }),
    );
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (!response.body) return res.end();
    const reader = response.body.getReader();
    res.on('close', () => reader.cancel().catch(() => {}));
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) res.write(r.value);
    } catch {}
    res.end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(r);
      }),
  };
}

/**
 * serve() through the host (runtimes/hosted.ts): the host queues each request to `/relay/<id>`, this loop polls
 * for it, runs handler and posts the response back. Requests come from `globalThis.INTEG_RELAY_ORIGIN` (a page
 * uses a second origin, so they are cross-origin as an API's are); polls go to `INTEG_HOST`.
 */
function relay(handler) {
  const host = globalThis.INTEG_HOST;
  const id = crypto.randomUUID();
  const loop = (async () => {
    for (;;) {
      const poll = await fetch(`${host}/poll/${id}`);
      if (poll.status === 204) return;
      const job = await poll.json();
      const response = await handler(new Request(job.url, { method: job.method, headers: job.headers }));
      const body = await response.text();
      await fetch(`${host}/reply/${job.seq}`, {
        method: 'POST',
        body: JSON.stringify({ status: response.status, headers: [...response.headers], body }),
      });
    }
  })();
  return {
    url: `${globalThis.INTEG_RELAY_ORIGIN ?? host}/relay/${id}`,
    close: async () => {
      await fetch(`${host}/close/${id}`, { method: 'POST' });
      await loop;
    },
  };
}
