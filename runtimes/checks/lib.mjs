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
/** A Chromium page (the host's, runtimes/hosted.ts). */
const page = typeof document !== 'undefined';
/** Whether serve() goes through the host's relay: no server of our own in a page or a worker. */
const hosted = workerd || page;
const results = [];
/** Every line printed, for a host that cannot read the console. */
export const output = [];
function print(line) {
  output.push(line);
  console.log(line);
}
/**
 * Runs fn as one check. `{ ownServer: true }`: it needs a server that streams (the runtime's own, or in workerd the
 * host's streaming relay), skipped in a page (sse's own browser tests run connect() and EventSource in Chromium).
 */
export async function check(name, fn, { ownServer = false } = {}) {
  if (ownServer && page) return print(`skip ${name} (not run in a page)`);
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
/**
 * Runs fn after the checks before it (in workerd, queued as they are): for clean-up a script does at its end. Not
 * named `then`: a module namespace with a `then` export is a thenable, and `await import()` of it would call it.
 */
export function atEnd(fn) {
  if (queued) return void queued.push(fn);
  return fn();
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
 * host's server takes the requests and relays each to handler here, the response streamed chunk by chunk.
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
 * serve() through the host (runtimes/hosted.ts): the host queues each request to `/relay/<id>/...` and this loop
 * polls for it, runs handler (which sees the path after `/relay/<id>`) and streams the response back as the
 * handler's body gives it: the head, then each chunk in a POST of its own, which the host writes to the client
 * before this reads the next (an SSE server's flush per event); in a page, the body whole with the head. A client that goes away comes back through the
 * poll as `{ gone }`, and the body is cancelled, as a runtime's own server cancels it. Requests come from
 * `globalThis.INTEG_RELAY_ORIGIN` (a page uses a second origin, so they are cross-origin as an API's are); polls
 * and chunks go to `INTEG_HOST`.
 */
function relay(handler) {
  const host = globalThis.INTEG_HOST;
  const id = crypto.randomUUID();
  const prefix = `/relay/${id}`;
  /** The bodies being streamed, by job: cancelled when the client goes away or on close(). */
  const live = new Map();
  const gone = new Set();
  const pumps = new Set();
  const post = (what, seq, body) => fetch(`${host}/${what}/${seq}`, { method: 'POST', body });
  const cancel = (seq) => {
    gone.add(seq);
    live
      .get(seq)
      ?.cancel()
      .catch(() => {});
  };
  const pump = async (job) => {
    const url = new URL(job.url);
    url.pathname = url.pathname.slice(prefix.length) || '/';
    const response = await handler(new Request(url, { method: job.method, headers: job.headers }));
    const head = { status: response.status, headers: [...response.headers] };
    // In a page the body goes whole with the head, as one response with a Content-Length (no check there streams).
    if (page) head.body = await response.text();
    // 410: the client is gone already; the body is cancelled below, unread.
    let open = (await post('head', job.seq, JSON.stringify(head))).status === 204;
    if (page) return;
    if (!response.body) {
      if (open) await post('end', job.seq);
      return;
    }
    const reader = response.body.getReader();
    live.set(job.seq, reader);
    try {
      while (open && !gone.has(job.seq)) {
        const { done, value } = await reader.read();
        if (done || gone.has(job.seq)) break;
        open = (await post('chunk', job.seq, value)).status === 204;
      }
      if (open && !gone.has(job.seq)) await post('end', job.seq);
      else await reader.cancel();
    } catch {
      // The handler's stream errored: the client sees the connection cut, as from a server.
      await post('abort', job.seq).catch(() => {});
    } finally {
      live.delete(job.seq);
    }
  };
  const loop = (async () => {
    for (;;) {
      const poll = await fetch(`${host}/poll/${id}`);
      if (poll.status === 204) return;
      const job = await poll.json();
      if (job.gone !== undefined) {
        cancel(job.gone);
        continue;
      }
      // A page answers one request at a time, as the relay always did there: answering concurrently (or chunked),
      // core-retry's server saw 4 requests where retry made 3, in about 1 run of 20 (not looked into further).
      if (page) await pump(job);
      else {
        const running = pump(job).finally(() => pumps.delete(running));
        pumps.add(running);
      }
    }
  })();
  return {
    url: `${globalThis.INTEG_RELAY_ORIGIN ?? host}${prefix}`,
    close: async () => {
      await fetch(`${host}/close/${id}`, { method: 'POST' });
      await loop;
      // What a server's close does to the responses still open: their bodies are cancelled.
      for (const seq of live.keys()) cancel(seq);
      await Promise.all(pumps);
    },
  };
}
