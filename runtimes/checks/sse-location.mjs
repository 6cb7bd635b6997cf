// Deno only (run with --location http://127.0.0.1:<port>/app/): a relative URL resolves against location.
import { connect, EventSource } from '@integ/sse';
import { check, eq, summary } from './lib.mjs';

const port = Number(new URL(globalThis.location.href).port);
const server = Deno.serve({ port, hostname: '127.0.0.1', onListen() {} }, (req) =>
  new URL(req.url).pathname === '/app/live'
    ? new Response('data: hi\n\n', { headers: { 'content-type': 'text/event-stream' } })
    : new Response(null, { status: 404 }),
);
await check('EventSource("live") resolves against --location', async () => {
  const source = new EventSource('live');
  eq(source.url, `http://127.0.0.1:${port}/app/live`, 'url');
  const e = await new Promise((r) => (source.onmessage = r));
  source.close();
  eq(e.data, 'hi', 'event');
});
await check('connect("/app/live") resolves against --location', async () => {
  for await (const e of connect('/app/live')) {
    eq(e.data, 'hi', 'event');
    break;
  }
});
await server.shutdown();
summary('sse --location');
