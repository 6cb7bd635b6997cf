/**
 * A real SSE server on loopback for the client tests (not exported): every connection gets a scripted
 * reply, and every request is recorded (method, headers, Last-Event-ID, body).
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { connect, EventSource } from '@integ/sse';
import { createFakeClock, drain, type FakeClock, settledValue } from '@integ/testing';
import { afterEach, expect, vi } from 'vitest';
import type { ReconnectInfo } from './internal/session.js';
import type { SseEvent } from './parser.js';

/** Real socket I/O on a loaded machine can take a while: poll often, give up late (for `vi.waitFor`). */
export const WAIT = { timeout: 10_000, interval: 5 };

/** The event the client should deliver. */
export const ev = (data: string, lastEventId = '', type = 'message'): SseEvent => ({
  type,
  data,
  lastEventId,
});

/**
 * The platform's fetch, counting the body bytes the client has read (on its body's reader): over a real socket, a
 * test waits for `received()` to reach what the server wrote before it moves the fake clock, instead of sleeping.
 */
export function countingFetch(): { fetch: typeof fetch; received: () => number } {
  let received = 0;
  const counting: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const body = response.body;
    if (body) {
      const getReader = body.getReader.bind(body) as () => ReadableStreamDefaultReader<Uint8Array>;
      body.getReader = (() => {
        const reader = getReader();
        const read = reader.read.bind(reader);
        reader.read = async () => {
          const result = await read();
          if (!result.done) received += result.value.byteLength;
          return result;
        };
        return reader;
      }) as typeof body.getReader;
    }
    return response;
  };
  return { fetch: counting, received: () => received };
}

/** A request as the server saw it. */
export interface RecordedRequest {
  /** 0-based connection number. */
  readonly index: number;
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The Last-Event-ID header, or undefined when not sent. */
  readonly lastEventId: string | undefined;
  readonly body: string;
}

/** What to answer on one connection. */
export interface Reply {
  /** @default 200 */
  readonly status?: number;
  /** @default { 'content-type': 'text/event-stream' } (merged) */
  readonly headers?: Record<string, string>;
  /** Body chunks, written one by one (strings or raw bytes). */
  readonly chunks?: readonly (string | Uint8Array)[];
  /** After the chunks: end the response, keep it open silently, or destroy the socket. @default 'close' */
  readonly end?: 'close' | 'hang' | 'destroy';
  /** Destroy the socket before any response is written: the client sees a network error. */
  readonly drop?: boolean;
}

/** A running test server. */
export interface SseTestServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Open responses, by connection number, to write more to. */
  readonly responses: Map<number, ServerResponse>;
  /** Resolves when connection `index` has been closed by either side. */
  closed(index: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 with a random port; `script` answers each connection. */
export async function startSseServer(
  script: (request: RecordedRequest) => Reply | Promise<Reply>,
): Promise<SseTestServer> {
  const requests: RecordedRequest[] = [];
  const responses = new Map<number, ServerResponse>();
  const closedConnections = new Map<number, Promise<void>>();
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((req, res) => {
    const index = connections++;
    let resolveClosed: () => void = () => {};
    closedConnections.set(
      index,
      new Promise<void>((resolve) => {
        resolveClosed = resolve;
      }),
    );
    res.on('close', () => {
      responses.delete(index);
      resolveClosed();
    });
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', async () => {
      const header = req.headers['last-event-id'];
      const request: RecordedRequest = {
        index,
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        lastEventId: Array.isArray(header) ? header[0] : header,
        body: Buffer.concat(parts).toString('utf8'),
      };
      requests.push(request);
      const reply = await script(request);
      if (reply.drop) return void res.socket?.destroy();
      res.writeHead(reply.status ?? 200, { 'content-type': 'text/event-stream', ...reply.headers });
      res.flushHeaders();
      for (const chunk of reply.chunks ?? []) res.write(chunk);
      const then = reply.end ?? 'close';
      if (then === 'close') res.end();
      // Destroy once the chunks reached the socket, so the client reads them before the reset.
      else if (then === 'destroy') res.write('', () => setTimeout(() => res.socket?.destroy(), 10));
      else responses.set(index, res);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/events`,
    requests,
    responses,
    closed: (index) => closedConnections.get(index) ?? Promise.reject(new Error(`no connection ${index}`)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * For a test file: `serve(script)` starts a server whose `script` answers each connection by its number, and
 * the server a test started is closed after that test.
 */
export function serveEach(): (script: (index: number) => Reply | Promise<Reply>) => Promise<SseTestServer> {
  let server: SseTestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  return async (script) => {
    server = await startSseServer((request) => script(request.index));
    return server;
  };
}

/** A script that answers connection `index` with `chunks[index]` and lets every later connection hang. */
export const chunksThenHang =
  (chunks: string[]) =>
  (index: number): Reply =>
    index < chunks.length ? { chunks: [chunks[index] as string] } : { end: 'hang' };

/**
 * Runs a client's reconnections (a 10 ms wait each) on the fake clock until `count` requests reached `server`'s
 * script, and returns the Last-Event-ID each one sent. A request Node refuses before the script (431) is never
 * counted, so a client that gave up fails here with what it got.
 */
export async function lastEventIdsSent(
  server: SseTestServer,
  clock: { readonly pendingTimers: number; advance(ms: number): Promise<void> },
  count: number,
): Promise<(string | undefined)[]> {
  await vi.waitFor(() => expect(server.requests.length).toBeGreaterThan(0), WAIT);
  while (server.requests.length < count) {
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    const before = server.requests.length;
    await clock.advance(10);
    await vi.waitFor(() => expect(server.requests.length).toBe(before + 1), WAIT);
  }
  return server.requests.map((request) => request.lastEventId);
}

/**
 * How connect()'s iteration ends with a custom fetch resolving to `response()` on the fake clock, within five
 * reconnection waits ('pending': not yet); the calls of fetch and onError, and the timers left.
 */
export async function iterate(response: () => Response | Promise<Response>): Promise<{
  outcome: unknown;
  fetched: number;
  errors: unknown[][];
  timers: number;
}> {
  const clock = createFakeClock();
  const fetch = vi.fn(async () => response());
  const onError = vi.fn();
  let outcome: unknown = 'pending';
  (async () => {
    for await (const _ of connect('http://h/x', { clock, fetch, onError }));
  })().then(
    () => (outcome = 'ended'),
    (error: unknown) => (outcome = error),
  );
  for (let i = 0; i < 5 && outcome === 'pending'; i++) {
    await settle(3);
    await clock.advance(30_000);
  }
  return {
    outcome,
    fetched: fetch.mock.calls.length,
    errors: onError.mock.calls,
    timers: clock.pendingTimers,
  };
}

/**
 * What an EventSource does with a custom fetch resolving to `response()` on the fake clock, over one reconnection
 * wait: the readyState at each error event (-1 for an open event), the onError calls and the timers left.
 */
export async function sourceErrors(
  response: () => Response | Promise<Response>,
): Promise<{ states: number[]; errors: unknown[][]; timers: number }> {
  const clock = createFakeClock();
  const onError = vi.fn();
  const source = new EventSource('http://h/x', { clock, fetch: async () => response(), onError });
  const states: number[] = [];
  source.onopen = () => states.push(-1);
  source.onerror = () => states.push(source.readyState);
  await settle(3);
  await clock.advance(30_000);
  await settle(3);
  const timers = clock.pendingTimers;
  source.close();
  return { states, errors: onError.mock.calls, timers };
}

/** A Response as a fetch that is not the platform's hands it on, with this status, Content-Type and body. */
export const lookalike = (status: number, type: string, body: unknown): Response =>
  ({
    type: 'basic',
    status,
    redirected: false,
    bodyUsed: false,
    url: 'http://h/x',
    headers: new Headers({ 'content-type': type }),
    body,
  }) as unknown as Response;

/**
 * A look-alike 200 text/event-stream Response whose body's reader (given `extra`, its cancel() or none) reads `first`,
 * then waits for ever.
 */
export const readsOnce = (first: object, extra: object = {}): Response =>
  lookalike(200, 'text/event-stream', {
    getReader: () => {
      let reads = 0;
      return { ...extra, read: () => (reads++ ? new Promise(() => {}) : Promise.resolve(first)) };
    },
  });

/**
 * How a pending `next()` of an iteration ends once every promise callback ran: 'ended', its error's message, or
 * 'waiting'.
 */
export const outcome = async (pending: Promise<unknown>): Promise<string> => {
  const ended = await settledValue(
    pending.then(
      () => 'ended',
      (error: Error) => error.message,
    ),
  );
  return ended === 'pending' ? 'waiting' : ended;
};

/**
 * `turns` setImmediate turns (drain()): every promise callback has run, and I/O already at the socket was read. Used
 * to show that nothing more happens; an outcome that needs real I/O to arrive waits with `vi.waitFor(..., WAIT)`.
 */
export const settle = (turns = 20): Promise<void> => drain(turns);

/** The reconnections of a source (`seen`), to await one by one and wait out on the fake clock. */
export function reconnections(clock: FakeClock): {
  seen: ReconnectInfo[];
  onReconnect: (info: ReconnectInfo) => void;
  waitOut: () => Promise<ReconnectInfo>;
} {
  const seen: ReconnectInfo[] = [];
  let taken = 0;
  return {
    seen,
    onReconnect: (info) => seen.push(info),
    async waitOut() {
      await vi.waitFor(() => expect(seen.length).toBeGreaterThan(taken), WAIT);
      const info = seen[taken++] as ReconnectInfo;
      await clock.advance(info.delay);
      return info;
    },
  };
}

/**
 * For a test file: `serve(script)` starts a server whose `script` answers each request, `open(url, init)` creates an
 * `EventSource`; after each test its sources are closed, then its servers.
 */
export function loopbackEach(): {
  serve: (script: (request: RecordedRequest) => Reply | Promise<Reply>) => Promise<SseTestServer>;
  open: (url: string, init?: ConstructorParameters<typeof EventSource>[1]) => EventSource;
} {
  const servers: SseTestServer[] = [];
  const sources: EventSource[] = [];
  afterEach(async () => {
    for (const source of sources.splice(0)) source.close();
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  return {
    async serve(script) {
      const server = await startSseServer(script);
      servers.push(server);
      return server;
    },
    open(url, init) {
      const source = new EventSource(url, init);
      sources.push(source);
      return source;
    },
  };
}
