/**
 * Review round 29: defects noticed and left by earlier rounds. A `headers` function handing back the same promise
 * on every reconnection, bodies of refused node-fetch responses, a custom fetch that throws synchronously, and a
 * reader whose read() throws synchronously.
 */
import { getEventListeners } from 'node:events';
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { connect, SseConnectionError } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import ts from 'typescript';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { lookalike, settle, WAIT } from './test-server.js';

describe('a headers function returning the same promise on every attempt', () => {
  // A token cache whose refresh hangs hands back one pending promise on every call. Each reconnection subscribed to
  // it again (a reaction held by that promise until it settles): a closure per attempt over a long outage.
  it('subscribes to it once over 10,000 attempts ended by idleTimeout', async () => {
    const clock = createFakeClock();
    const controller = new AbortController();
    const pending = new Promise<HeadersInit>(() => {});
    // Counts the subscriptions (a race, a resolve with it, allSettled: each calls then()).
    let subscriptions = 0;
    const { then } = pending;
    Object.defineProperty(pending, 'then', {
      value(this: Promise<HeadersInit>, ...args: Parameters<typeof then>) {
        subscriptions++;
        return then.apply(this, args);
      },
    });
    // Not a vi.fn(): a spy subscribes to a promise it returns.
    let calls = 0;
    const stream = connect('http://h/x', {
      clock,
      headers: () => {
        calls++;
        return pending;
      },
      idleTimeout: 1,
      backoff: () => 0,
      signal: controller.signal,
      fetch: async () => new Response(null, { status: 500 }),
    });
    const iterator = stream[Symbol.asyncIterator]();
    iterator.next().catch(() => {});
    await settle(1);
    // Timers and the caller's signal stay bounded too: the watchdog or the reconnection wait, one listener.
    let most = { timers: 0, listeners: 0 };
    while (calls < 10_000) {
      await clock.advance(1);
      most = {
        timers: Math.max(most.timers, clock.pendingTimers),
        listeners: Math.max(most.listeners, getEventListeners(controller.signal, 'abort').length),
      };
    }
    expect(subscriptions).toBe(1);
    expect(most).toEqual({ timers: 1, listeners: 1 });
    stream.close();
    await settle(1);
    expect(clock.pendingTimers).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('still asks headers() on each attempt and uses a promise that settles later', async () => {
    const clock = createFakeClock();
    let answer!: (init: HeadersInit) => void;
    const pending = new Promise<HeadersInit>((resolve) => {
      answer = resolve;
    });
    const headers = vi.fn(() => pending);
    const fetch = vi.fn(async (_url: unknown, _init?: RequestInit) => new Response(null, { status: 404 }));
    const stream = connect('http://h/x', { clock, headers, idleTimeout: 10, backoff: () => 0, fetch });
    const next = stream[Symbol.asyncIterator]().next();
    next.catch(() => {});
    await settle(1);
    for (let i = 0; i < 3; i++) await clock.advance(10);
    expect(headers.mock.calls.length).toBe(4);
    expect(fetch).not.toHaveBeenCalled();
    answer({ authorization: 'Bearer t' });
    await expect(next).rejects.toMatchObject({ code: 'ERR_SSE_STATUS' });
    expect(new Headers(fetch.mock.calls[0]?.[1]?.headers).get('authorization')).toBe('Bearer t');
  });
});

/**
 * A fetch as node-fetch makes it (no dependency here): the body a Node stream, not a web ReadableStream; aborting the
 * signal destroys the request (its socket) and the body. v2 pipes the response into the body, so destroying the body
 * leaves the socket (node-fetch#1762); v3 joins them with pipeline(), so destroying the body destroys the socket.
 * `agent`: a keep-alive one without the 5 s socket timeout of Node's global agent, as node-fetch users pass.
 */
const nodeFetchLike =
  (version: 2 | 3, agent: Agent) =>
  (url: string | URL | Request, init?: RequestInit): Promise<Response> =>
    new Promise((resolve, reject) => {
      let body: Readable | undefined;
      const request = httpRequest(String(url), {
        agent,
        headers: Object.fromEntries(new Headers(init?.headers)),
      });
      const abort = (): void => {
        request.destroy();
        body?.destroy();
        reject(init?.signal?.reason);
      };
      init?.signal?.addEventListener('abort', abort);
      request.on('error', reject);
      request.on('response', (response) => {
        response.on('end', () => init?.signal?.removeEventListener('abort', abort));
        body =
          version === 3 ? pipeline(response, new PassThrough(), () => {}) : response.pipe(new PassThrough());
        resolve({
          type: 'basic',
          status: response.statusCode,
          redirected: false,
          bodyUsed: false,
          url: String(url),
          headers: new Headers(response.headers as Record<string, string>),
          body,
        } as unknown as Response);
      });
      request.end();
    });

describe('a node-fetch-style fetch (the body a Node stream): the socket of a refused answer', () => {
  // discard() cancels a web stream only: node-fetch's body has no cancel(), so the socket of a refused answer too big
  // for the buffers stayed open (unread, never back in the agent's pool), one per ended client, and a 200's stream
  // (refused: no web stream) for as long as the server kept sending. Every attempt's request is now aborted as it
  // ends, which ends it in any fetch honouring the signal (node-fetch v2 too, where destroying the body would not).
  const sockets = new Set<Socket>();
  let server: ReturnType<typeof createServer> | undefined;
  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  });
  const serve = async (status: number, type: string): Promise<string> => {
    server = createServer((_, response) => {
      response.writeHead(status, { 'content-type': type });
      // A page bigger than what the client buffers unread (a 404 page, a single-page app's index.html answering a
      // misrouted stream URL): a smaller one is read to its end into the buffers, and its socket goes back to the
      // agent's pool. An event stream stays open.
      if (type === 'text/event-stream') response.write(': hello\n\n');
      else response.end('x'.repeat(1_048_576));
    });
    // Keep-alive for ever: a socket the client does not give back stays open until the client closes it.
    server.keepAliveTimeout = 0;
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
  };

  for (const version of [2, 3] as const)
    for (const [status, type, code] of [
      [404, 'text/html', 'ERR_SSE_STATUS'],
      [200, 'text/html', 'ERR_SSE_CONTENT_TYPE'],
      [200, 'text/event-stream', 'ERR_INVALID_ARGUMENT'],
    ] as const)
      it(`node-fetch v${version}, ${status} ${type}: ${code}, and the socket is closed`, async () => {
        const url = await serve(status, type);
        const agent = new Agent({ keepAlive: true });
        const iteration = (async () => {
          for await (const _ of connect(url, { fetch: nodeFetchLike(version, agent) }));
        })();
        await expect(iteration).rejects.toMatchObject({ code });
        await vi.waitFor(() => expect(sockets.size).toBe(0), WAIT).finally(() => agent.destroy());
      });
});

/**
 * What a client whose `fetch` (or whose body's reader) fails the way `failure` says does over six attempts on the fake
 * clock: the errors reported, the reconnection delays, the calls made, and what close() leaves.
 */
async function failing(fetch: () => Promise<Response>): Promise<{
  errors: unknown[];
  delays: number[];
  calls: number;
  timers: number;
  outcome: unknown;
}> {
  const clock = createFakeClock();
  const errors: unknown[] = [];
  const delays: number[] = [];
  let calls = 0;
  const stream = connect('http://h/x', {
    clock,
    random: () => 0.5,
    fetch: () => {
      calls++;
      return fetch();
    },
    onError: (error) => errors.push(error),
    onReconnect: ({ delay }) => delays.push(delay),
  });
  let outcome: unknown = 'pending';
  (async () => {
    for await (const _ of stream);
  })().then(
    () => (outcome = 'ended'),
    (error: unknown) => (outcome = error),
  );
  while (calls < 6) {
    await settle(2);
    await clock.advance(delays.at(-1) ?? 0);
  }
  await settle(2);
  stream.close();
  await settle(2);
  return { errors, delays, calls, timers: clock.pendingTimers, outcome };
}

describe('a custom fetch that throws synchronously (decision 0205)', () => {
  // A fetch wrapper that is not an async function throws where fetch rejects: its failure is the same network error,
  // which the standard reestablishes the connection after ("unless futile"), as the eventsource package does for a
  // rejected fetch. It is retried like one, with the growing backoff (capped at maxDelay) and every failure reported.
  it('reconnects with the backoff, as a rejecting fetch does, reporting each failure; close() leaves nothing', async () => {
    const failure = new TypeError('fetch failed');
    const threw = await failing(() => {
      throw failure;
    });
    const rejected = await failing(async () => {
      throw failure;
    });
    expect(threw).toEqual(rejected);
    // The default backoff at random 0.5: 3/4 of 1 s doubling, the base capped at 30 s.
    expect(threw.delays).toEqual([750, 1500, 3000, 6000, 12000, 22500]);
    expect(threw.errors).toHaveLength(6);
    for (const error of threw.errors) {
      expect(error).toBeInstanceOf(SseConnectionError);
      expect(error).toMatchObject({ code: 'ERR_SSE_CONNECTION', cause: failure });
    }
    expect(threw).toMatchObject({ calls: 6, timers: 0, outcome: 'ended' });
  });
});

describe('a body reader whose read() throws synchronously', () => {
  // A web stream's read() never throws: it rejects, as a body cut by the network does, which the standard treats as a
  // network error (reconnect, Last-Event-ID sent). A mock reader that throws is read the same way, not as a broken
  // fetch (InvalidArgumentError): the next attempt may get a working body.
  it('is a network error: reported as SseConnectionError with its cause, and the client reconnects', async () => {
    const failure = new Error('socket hang up');
    const body = (read: () => Promise<unknown>) => () =>
      Promise.resolve(
        lookalike(200, 'text/event-stream', { getReader: () => ({ read, cancel: async () => {} }) }),
      );
    const threw = await failing(
      body(() => {
        throw failure;
      }),
    );
    const rejected = await failing(body(async () => Promise.reject(failure)));
    expect(threw).toEqual(rejected);
    expect(threw.errors).toHaveLength(6);
    for (const error of threw.errors)
      expect(error).toMatchObject({ code: 'ERR_SSE_CONNECTION', cause: failure });
    expect(threw).toMatchObject({ calls: 6, timers: 0, outcome: 'ended' });
  });
});

describe('the types in a Node project without the DOM lib (@types/node only)', () => {
  // The public types named HeadersInit, RequestCredentials, AddEventListenerOptions and EventListenerOrEventListenerObject,
  // which only lib.dom declares: such a project got errors from our declarations (skipLibCheck off) or `any` (on). The
  // package's sources are checked here as the house tsconfig says, with lib ES2022 and the node types only.
  it('type-check with lib ES2022 and types node', () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const { config } = ts.readConfigFile(`${root}tsconfig.base.json`, ts.sys.readFile);
    const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root);
    const program = ts.createProgram([fileURLToPath(new URL('./index.ts', import.meta.url))], {
      ...options,
      lib: ['lib.es2022.d.ts'],
      types: ['node'],
      noEmit: true,
      skipLibCheck: false,
    });
    const errors = ts
      .getPreEmitDiagnostics(program)
      .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    expect(errors).toEqual([]);
  }, 60_000);
});
