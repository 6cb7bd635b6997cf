// sse: close() and an abort leave no timer or request behind, so the process exits promptly. The server (the
// runtime's own; in workerd the host's streaming relay) asks for a 60 s reconnection wait, or keeps the stream open;
// the client has a 60 s watchdog (idleTimeout). Each check also counts the client's live timers (its clock) and
// waits for the server to see an open body cancelled: workerd drops what a test handler leaves behind when it
// returns, so there that is what shows nothing was left pending.
import { connect, EventSource } from '@integ/sse';
import { atEnd, check, eq, rejects, serve, summary, wait } from './lib.mjs';

/** The real timers, counting those set and not yet fired or cleared. */
const live = new Set();
const clock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    const handle = setTimeout(() => {
      live.delete(handle);
      callback();
    }, ms);
    live.add(handle);
    return handle;
  },
  clearTimeout(handle) {
    live.delete(handle);
    clearTimeout(handle);
  },
};
/** After close() or an abort: no timer left, and the server saw `bodies` more open bodies cancelled (within 2 s). */
async function nothingLeft(bodies) {
  const want = cancelledBefore + bodies;
  for (let i = 0; i < 100 && cancelled < want; i++) await wait(20);
  eq([live.size, cancelled - cancelledBefore], [0, bodies], 'timers left, bodies cancelled');
  cancelledBefore = cancelled;
}
let cancelledBefore = 0;

const enc = new TextEncoder();
let cancelled = 0;
let server;
// Started by the first check, not at load: workerd refuses I/O while a module loads.
const url = async (path) => {
  server ??= await serve((req) => {
    const path = new URL(req.url).pathname;
    if (path === '/ends')
      return new Response('retry: 60000\ndata: a\n\n', { headers: { 'content-type': 'text/event-stream' } });
    // /hangs: one event, then nothing, for ever (until the client goes away).
    return new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(enc.encode('data: a\n\n'));
        },
        cancel() {
          cancelled++;
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    );
  });
  return `${server.url}${path}`;
};
const isAbort = (e) => e?.name === 'AbortError';

await check('connect(): close() during a 60 s reconnection wait', async () => {
  let reconnecting;
  const waiting = new Promise((r) => (reconnecting = r));
  const stream = connect(await url('/ends'), {
    clock,
    idleTimeout: 60_000,
    onReconnect: (info) => reconnecting(info),
  });
  const it = stream[Symbol.asyncIterator]();
  eq((await it.next()).value.data, 'a', 'first event');
  const next = it.next();
  const info = await waiting;
  stream.close();
  eq(info.delay, 30_000, "waits the server's retry: 60 s, cut to maxDelay (30 s)");
  eq((await next).done, true, 'iteration ends');
  await nothingLeft(0);
});
await check(
  'connect(): close() while the stream is open and silent (fetch in flight, 60 s watchdog)',
  async () => {
    const stream = connect(await url('/hangs'), { clock, idleTimeout: 60_000 });
    const it = stream[Symbol.asyncIterator]();
    eq((await it.next()).value.data, 'a', 'first event');
    const next = it.next();
    stream.close();
    eq((await next).done, true, 'iteration ends');
    await nothingLeft(1);
  },
);
await check('connect(): break out of for await on an open stream', async () => {
  for await (const event of connect(await url('/hangs'), { clock, idleTimeout: 60_000 })) {
    eq(event.data, 'a', 'event');
    break;
  }
  await nothingLeft(1);
});
await check('connect(): an abort during a 60 s reconnection wait rejects with an AbortError', async () => {
  const controller = new AbortController();
  const stream = connect(await url('/ends'), {
    clock,
    idleTimeout: 60_000,
    signal: controller.signal,
    onReconnect: () => controller.abort(),
  });
  const got = [];
  await rejects(
    (async () => {
      for await (const event of stream) got.push(event.data);
    })(),
    isAbort,
    'abort',
  );
  eq(got, ['a'], 'events');
  await nothingLeft(0);
});
await check('connect(): an abort on an open silent stream rejects with an AbortError', async () => {
  const controller = new AbortController();
  const got = [];
  await rejects(
    (async () => {
      for await (const event of connect(await url('/hangs'), {
        clock,
        idleTimeout: 60_000,
        signal: controller.signal,
      })) {
        got.push(event.data);
        controller.abort();
      }
    })(),
    isAbort,
    'abort',
  );
  eq(got, ['a'], 'events');
  await nothingLeft(1);
});
await check('EventSource: close() during a 60 s reconnection wait', async () => {
  const source = new EventSource(await url('/ends'), { clock });
  await new Promise((r) => (source.onerror = () => source.readyState === EventSource.CONNECTING && r()));
  source.close();
  eq(source.readyState, EventSource.CLOSED, 'closed');
  await nothingLeft(0);
});
await check('EventSource: close() on an open silent stream', async () => {
  const source = new EventSource(await url('/hangs'), { clock, idleTimeout: 60_000 });
  await new Promise((r) => (source.onmessage = r));
  source.close();
  eq(source.readyState, EventSource.CLOSED, 'closed');
  await nothingLeft(1);
});
await atEnd(async () => {
  const t0 = performance.now();
  await server.close();
  console.log(
    `server closed in ${Math.round(performance.now() - t0)} ms; hung bodies the server saw cancelled: ${cancelled}`,
  );
});
summary('sse close()');
atEnd(() => console.log('script done: the process should exit now'));
