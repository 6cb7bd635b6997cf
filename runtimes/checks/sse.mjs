// sse: the three parser forms over chunked input; connect() and EventSource against a loopback SSE server of
// the runtime's own (Deno.serve / Bun.serve / node:http; in workerd the host's streaming relay, runtimes/hosted.ts):
// each event arrives before the server sends the next, Last-Event-ID on reconnect, the idleTimeout watchdog, a 204
// stops, a 404 or a wrong content type too. In a page only the parsers and encodeEvent run: the rest is ownServer.

import { isIntegError } from '@integ/core';
import {
  connect,
  createByteParser,
  createByteParserStream,
  createParser,
  createParserStream,
  EventSource,
  encodeEvent,
  isEventStream,
  SseHttpError,
} from '@integ/sse';
import { assert, check, eq, rejects, serve, summary, wait } from './lib.mjs';

const TEXT =
  '\uFEFFretry: 50\r\n: hi\r\nid: 1\r\ndata: héllo €\r\ndata: 😀\r\n\r\nevent: tick\nid: 2\ndata: b\n\ndata: no-newline-end\r\rdata: cut';
const WANT = [
  { type: 'message', data: 'héllo €\n😀', lastEventId: '1' },
  { type: 'tick', data: 'b', lastEventId: '2' },
  { type: 'message', data: 'no-newline-end', lastEventId: '2' },
];
const bytes = new TextEncoder().encode(TEXT);

await check(
  'sse: createParser gives the same events for every split of the text into two chunks',
  async () => {
    for (let i = 0; i <= TEXT.length; i++) {
      const got = [];
      const retries = [];
      const comments = [];
      const p = createParser({
        onEvent: (e) => got.push({ ...e }),
        onRetry: (ms) => retries.push(ms),
        onComment: (c) => comments.push(c),
      });
      p.feed(TEXT.slice(0, i));
      p.feed(TEXT.slice(i));
      eq([got, retries, comments], [WANT, [50], ['hi']], `split at ${i}`);
    }
  },
);
await check(
  'sse: createByteParser decodes UTF-8 split inside characters (every byte split, and byte by byte)',
  async () => {
    for (let i = 0; i <= bytes.length; i++) {
      const got = [];
      const p = createByteParser({ onEvent: (e) => got.push({ ...e }) });
      p.feed(bytes.subarray(0, i));
      p.feed(bytes.subarray(i));
      eq(got, WANT, `split at ${i}`);
    }
    const got = [];
    const p = createByteParser({ onEvent: (e) => got.push({ ...e }) });
    for (const b of bytes) p.feed(new Uint8Array([b]));
    eq(got, WANT, 'byte by byte');
  },
);
await check('sse: createParserStream over a chunked ReadableStream<string> (for await)', async () => {
  const chunks = TEXT.match(/[\s\S]{1,3}/gu);
  const got = [];
  const rs = new ReadableStream({
    start(c) {
      for (const x of chunks) c.enqueue(x);
      c.close();
    },
  });
  for await (const e of rs.pipeThrough(createParserStream())) got.push({ ...e });
  eq(got, WANT, 'events');
});
await check(
  'sse: createByteParserStream over a streamed loopback response body (bytes split across writes)',
  async () => {
    const server = await serve(
      () =>
        new Response(
          new ReadableStream({
            async pull(c) {
              for (let i = 0; i < bytes.length; i += 5) {
                c.enqueue(bytes.slice(i, i + 5));
                if (i % 20 === 0) await wait(1);
              }
              c.close();
            },
          }),
          { headers: { 'content-type': 'text/event-stream' } },
        ),
    );
    try {
      const res = await fetch(server.url);
      assert(isEventStream(res.headers.get('content-type')), 'content-type');
      const got = [];
      const reader = res.body.pipeThrough(createByteParserStream()).getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) got.push({ ...r.value });
      eq(got, WANT, 'events');
    } finally {
      await server.close();
    }
  },
  { ownServer: true },
);
await check('sse: encodeEvent round-trips through createParser', async () => {
  const got = [];
  const p = createParser({ onEvent: (e) => got.push({ ...e }) });
  p.feed(encodeEvent({ event: 'order', id: '42', data: 'line1\nline2\r\nline3', comment: 'c', retry: 5 }));
  eq(got, [{ type: 'order', data: 'line1\nline2\nline3', lastEventId: '42' }], 'round trip');
});

// A server whose first response sends two events and ends, whose second checks Last-Event-ID and sends one
// more, and whose third says 204 (stop).
function sseServer(log) {
  let n = 0;
  return serve((req) => {
    n++;
    log.push({ n, lastEventId: req.headers.get('last-event-id'), accept: req.headers.get('accept') });
    if (n === 1)
      return streamed(['retry: 5\n\n', 'id: 1\ndata: a\n\n', 'event: tick\nid: 2\nda', 'ta: b\n\n']);
    if (n === 2) return streamed(['id: 3\ndata: c\n\n']);
    return new Response(null, { status: 204 });
  });
}
function streamed(parts) {
  const enc = new TextEncoder();
  return new Response(
    new ReadableStream({
      async pull(c) {
        for (const p of parts) {
          c.enqueue(enc.encode(p));
          await wait(2);
        }
        c.close();
      },
    }),
    { headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' } },
  );
}

await check(
  'sse: connect() reads events, reconnects with Last-Event-ID, stops for good on 204',
  async () => {
    const log = [];
    const server = await sseServer(log);
    try {
      const got = [];
      const reconnects = [];
      const stream = connect(server.url, {
        backoff: () => 0,
        onReconnect: ({ attempt, delay }) => reconnects.push({ attempt, delay }),
      });
      await rejects(
        (async () => {
          for await (const ev of stream) got.push({ ...ev });
        })(),
        (e) => e instanceof SseHttpError && isIntegError(e, 'ERR_SSE_STATUS') && e.status === 204,
        '204',
      );
      eq(
        got,
        [
          { type: 'message', data: 'a', lastEventId: '1' },
          { type: 'tick', data: 'b', lastEventId: '2' },
          { type: 'message', data: 'c', lastEventId: '3' },
        ],
        'events',
      );
      eq(
        log.map((l) => l.lastEventId),
        [null, '2', '3'],
        'Last-Event-ID sent on each reconnect',
      );
      eq(log[0].accept, 'text/event-stream', 'accept');
      eq([stream.lastEventId, reconnects.length], ['3', 2], 'lastEventId, reconnects');
      assert(
        reconnects.every((r) => r.delay === 5),
        `waits ${JSON.stringify(reconnects)}`,
      );
    } finally {
      await server.close();
    }
  },
  { ownServer: true },
);
await check(
  'sse: EventSource gets open/message/named events, reconnects with Last-Event-ID, 204 closes it',
  async () => {
    const log = [];
    const server = await sseServer(log);
    try {
      const seen = [];
      const source = new EventSource(server.url, { backoff: () => 0 });
      eq([source.readyState, source.url], [EventSource.CONNECTING, new URL(server.url).href], 'initial');
      const origin = new URL(server.url).origin;
      await new Promise((resolve) => {
        source.onopen = () => seen.push(`open:${source.readyState}`);
        source.onmessage = (e) => seen.push(`message:${e.data}:${e.lastEventId}:${e.origin === origin}`);
        source.addEventListener('tick', (e) => {
          seen.push(`tick:${e.data}:${e.lastEventId}`);
        });
        source.onerror = () => {
          seen.push(`error:${source.readyState}`);
          if (source.readyState === EventSource.CLOSED) resolve();
        };
      });
      eq(
        seen,
        [
          'open:1',
          'message:a:1:true',
          'tick:b:2',
          'error:0',
          'open:1',
          'message:c:3:true',
          'error:0',
          'error:2',
        ],
        'events',
      );
      eq(
        log.map((l) => l.lastEventId),
        [null, '2', '3'],
        'Last-Event-ID',
      );
      eq(Object.prototype.toString.call(source), '[object EventSource]', 'toString');
      source.close();
    } finally {
      await server.close();
    }
  },
  { ownServer: true },
);
/**
 * A server that sends `count` events one at a time, each only once the client has it (`received()` from the
 * client's loop): a client or relay that buffered the body would stall here, and the check fails after 5 s. Each
 * event's data is how many the server had sent and whether it had ended when the client got it. Then 204.
 */
function lockstep(count) {
  const enc = new TextEncoder();
  const state = { sent: 0, ended: false, requests: 0 };
  let wake = () => {};
  let got = 0;
  const received = () => {
    got++;
    wake();
  };
  const until = (n) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`event ${n} did not arrive in 5 s: buffered?`)), 5000);
      wake = () => {
        if (got < n) return;
        clearTimeout(timer);
        resolve();
      };
      wake();
    });
  const serverPromise = serve(() => {
    if (++state.requests > 1) return new Response(null, { status: 204 });
    return new Response(
      new ReadableStream({
        async pull(c) {
          for (let i = 1; i <= count; i++) {
            c.enqueue(enc.encode(`id: ${i}\ndata: ${i}\n\n`));
            state.sent = i;
            await until(i);
          }
          state.ended = true;
          c.close();
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    );
  });
  return { serverPromise, state, received };
}

await check(
  'sse: connect() gets each event before the server sends the next, then the 204 ends it',
  async () => {
    const { serverPromise, state, received } = lockstep(3);
    const server = await serverPromise;
    try {
      const seen = [];
      await rejects(
        (async () => {
          for await (const ev of connect(server.url, { backoff: () => 0 })) {
            seen.push(`${ev.data}:${state.sent}:${state.ended}`);
            received();
          }
        })(),
        (e) => e instanceof SseHttpError && e.status === 204,
        '204',
      );
      eq(seen, ['1:1:false', '2:2:false', '3:3:false'], 'event:sent-by-then:ended');
    } finally {
      await server.close();
    }
  },
  { ownServer: true },
);
await check(
  'sse: EventSource gets each event before the server sends the next, then the 204 closes it',
  async () => {
    const { serverPromise, state, received } = lockstep(3);
    const server = await serverPromise;
    try {
      const seen = [];
      const source = new EventSource(server.url, { backoff: () => 0 });
      await new Promise((resolve) => {
        source.onmessage = (e) => {
          seen.push(`${e.data}:${state.sent}:${state.ended}`);
          received();
        };
        source.onerror = () => source.readyState === EventSource.CLOSED && resolve();
      });
      eq(seen, ['1:1:false', '2:2:false', '3:3:false'], 'event:sent-by-then:ended');
    } finally {
      await server.close();
    }
  },
  { ownServer: true },
);
await check(
  'sse: a 404 and a text/html answer end connect() and EventSource for good (SseHttpError, one request each)',
  async () => {
    const requests = [];
    const server = await serve((req) => {
      const path = new URL(req.url).pathname;
      requests.push(path);
      return path === '/missing'
        ? new Response('no such stream', { status: 404, headers: { 'content-type': 'text/event-stream' } })
        : new Response('<p>login</p>', { headers: { 'content-type': 'text/html' } });
    });
    try {
      const outcomes = [];
      for (const path of ['/missing', '/html']) {
        const error = await rejects(
          (async () => {
            for await (const _ of connect(`${server.url}${path}`, { backoff: () => 0 }));
          })(),
          (e) => e instanceof SseHttpError,
          path,
        );
        outcomes.push(`connect ${path}: ${error.code} ${error.status} ${error.contentType}`);
        const source = new EventSource(`${server.url}${path}`, { backoff: () => 0 });
        const opened = [];
        source.onopen = () => opened.push(path);
        await new Promise((resolve) => {
          source.onerror = () => resolve();
        });
        outcomes.push(`EventSource ${path}: ${source.readyState} ${opened.length}`);
      }
      eq(
        outcomes,
        [
          'connect /missing: ERR_SSE_STATUS 404 text/event-stream',
          'EventSource /missing: 2 0',
          'connect /html: ERR_SSE_CONTENT_TYPE 200 text/html',
          'EventSource /html: 2 0',
        ],
        'outcomes',
      );
      await wait(50); // room for a reconnection that should not come
      eq(requests, ['/missing', '/missing', '/html', '/html'], 'one request each, no reconnection');
    } finally {
      await server.close();
    }
  },
  { ownServer: true },
);
await check(
  'sse: connect() idleTimeout: a silent stream reconnects with a TimeoutError and Last-Event-ID',
  async () => {
    const sent = [];
    let cancelled = 0;
    const enc = new TextEncoder();
    const server = await serve((req) => {
      sent.push(req.headers.get('last-event-id'));
      if (sent.length === 1)
        return new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(enc.encode('id: 5\ndata: x\n\n'));
            },
            cancel() {
              cancelled++;
            },
          }),
          { headers: { 'content-type': 'text/event-stream' } },
        );
      return new Response(null, { status: 204 });
    });
    try {
      const errors = [];
      const got = [];
      await rejects(
        (async () => {
          for await (const ev of connect(server.url, {
            idleTimeout: 300,
            backoff: () => 0,
            onReconnect: ({ error }) => errors.push(error),
          }))
            got.push(ev.data);
        })(),
        (e) => e?.status === 204,
        '204',
      );
      eq([got, sent, errors.map((e) => e?.code)], [['x'], [null, '5'], ['ERR_TIMEOUT']], 'watchdog');
      for (let i = 0; i < 100 && cancelled === 0; i++) await wait(20);
      eq(cancelled, 1, 'the silent body was cancelled (server saw it)');
    } finally {
      await server.close();
    }
  },
  { ownServer: true },
);
summary('sse');
