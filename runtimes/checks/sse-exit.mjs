// sse: close() leaves no timer or request behind, so the process exits promptly. The server (the runtime's own)
// asks for a 60 s reconnection wait, or keeps the stream open; the client has a 60 s watchdog (idleTimeout).
import { connect, EventSource } from '@integ/sse';
import { check, eq, serve, summary } from './lib.mjs';

const enc = new TextEncoder();
let cancelled = 0;
const server = await serve((req) => {
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

await check('connect(): close() during a 60 s reconnection wait', async () => {
  let reconnecting;
  const waiting = new Promise((r) => (reconnecting = r));
  const stream = connect(`${server.url}/ends`, {
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
});
await check(
  'connect(): close() while the stream is open and silent (fetch in flight, 60 s watchdog)',
  async () => {
    const stream = connect(`${server.url}/hangs`, { idleTimeout: 60_000 });
    const it = stream[Symbol.asyncIterator]();
    eq((await it.next()).value.data, 'a', 'first event');
    const next = it.next();
    stream.close();
    eq((await next).done, true, 'iteration ends');
  },
);
await check('connect(): break out of for await on an open stream', async () => {
  for await (const event of connect(`${server.url}/hangs`, { idleTimeout: 60_000 })) {
    eq(event.data, 'a', 'event');
    break;
  }
});
await check('EventSource: close() during a 60 s reconnection wait', async () => {
  const source = new EventSource(`${server.url}/ends`);
  await new Promise((r) => (source.onerror = () => source.readyState === EventSource.CONNECTING && r()));
  source.close();
  eq(source.readyState, EventSource.CLOSED, 'closed');
});
await check('EventSource: close() on an open silent stream', async () => {
  const source = new EventSource(`${server.url}/hangs`, { idleTimeout: 60_000 });
  await new Promise((r) => (source.onmessage = r));
  source.close();
  eq(source.readyState, EventSource.CLOSED, 'closed');
});
const t0 = performance.now();
await server.close();
console.log(
  `server closed in ${Math.round(performance.now() - t0)} ms; hung bodies the server saw cancelled: ${cancelled}`,
);
summary('sse close()');
console.log('script done: the process should exit now');
