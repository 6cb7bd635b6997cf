/**
 * Review round 31: cross-review of round 30's fixes. The headers() promise let go once settled (b8a176c), the request
 * of a body read to its end not aborted (85340d7, decision 0209).
 */
import { getEventListeners } from 'node:events';
import { Agent, createServer, request as httpRequest, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PassThrough, pipeline, Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { connect, EventSource } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { settle, WAIT } from './test-server.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('a headers promise that settles as the client stops', () => {
  // The attempt awaits a race of headers() and its signal: resolved by headers() a few microtasks before close() (or the
  // caller's abort) came, its continuation ran after it and called fetch with the signal already aborted. A fetch that
  // checks the signal only by listening (an abort event never comes for one aborted already) sent a request after
  // close(), and held its socket for as long as the server sent; the platform's rejected at once, unsent.
  it.each(['close', 'abort', 'EventSource close'])(
    'fetches nothing after %s, whichever microtask the promise settled in',
    async (how) => {
      for (let ticks = 0; ticks <= 12; ticks++) {
        const clock = createFakeClock();
        const controller = new AbortController();
        let answer!: (init: HeadersInit) => void;
        const pending = new Promise<HeadersInit>((resolve) => {
          answer = resolve;
        });
        const aborted: boolean[] = [];
        const fetch = vi.fn(async (_url: string, init: RequestInit) => {
          aborted.push(init.signal?.aborted === true);
          return new Response(null, { status: 404 });
        });
        const options = { clock, fetch, headers: () => pending };
        let close: () => void;
        if (how === 'EventSource close') {
          const source = new EventSource('http://h/x', options);
          source.onerror = () => {};
          close = () => source.close();
        } else {
          const stream = connect('http://h/x', { ...options, signal: controller.signal });
          stream[Symbol.asyncIterator]()
            .next()
            .catch(() => {});
          close = how === 'abort' ? () => controller.abort(new Error('stop')) : () => stream.close();
        }
        await settle(2);
        answer({ authorization: 'Bearer t' });
        for (let i = 0; i < ticks; i++) await null;
        close();
        await settle(2);
        // Before the continuation ran: nothing at all. After it: the request was made while the client was open.
        expect({ ticks, aborted }).toEqual({ ticks, aborted: aborted.length ? [false] : [] });
        expect(clock.pendingTimers).toBe(0);
        expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      }
    },
  );
});

/**
 * review-29's node-fetch-like fetch (v2 pipes the response into the body, so destroying the body leaves the socket; v3
 * joins them with pipeline()), with its Node stream body handed on as a web stream (Readable.toWeb), as a user adapting
 * node-fetch for this client does: the body is read, so its end reaches the client's "read to its end" (0209).
 */
const nodeFetchWeb =
  (version: 2 | 3, agent: Agent, signals: AbortSignal[]) =>
  (url: string, init?: RequestInit): Promise<Response> =>
    new Promise((resolve, reject) => {
      let body: Readable | undefined;
      const signal = init?.signal as AbortSignal;
      signals.push(signal);
      const request = httpRequest(url, { agent, headers: Object.fromEntries(new Headers(init?.headers)) });
      const abort = (): void => {
        request.destroy();
        body?.destroy();
        reject(signal.reason);
      };
      signal.addEventListener('abort', abort);
      request.on('error', reject);
      request.on('response', (response) => {
        response.on('end', () => signal.removeEventListener('abort', abort));
        body =
          version === 3 ? pipeline(response, new PassThrough(), () => {}) : response.pipe(new PassThrough());
        resolve(
          new Response(Readable.toWeb(body) as ReadableStream<Uint8Array>, {
            status: response.statusCode ?? 0,
            headers: response.headers as Record<string, string>,
          }),
        );
      });
      request.end();
    });

describe('the request of an attempt that did not read its body to its end (0204 after 0209)', () => {
  const sockets = new Set<Socket>();
  let server: ReturnType<typeof createServer> | undefined;
  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  });
  const serve = async (answer: (response: ServerResponse) => void): Promise<string> => {
    server = createServer((_, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      answer(response);
    });
    server.keepAliveTimeout = 0;
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
  };

  // A parse error (an event over maxEventSize) ends the attempt while the server keeps sending: not a normal end, so its
  // request is aborted and the socket closed, also where cancelling the body leaves it (v2).
  for (const version of [2, 3] as const)
    it(`node-fetch v${version} as a web stream: an oversized event closes the socket the server keeps sending on`, async () => {
      const url = await serve((response) => {
        response.write(`data: ${'x'.repeat(100)}\n`);
        const timer = setInterval(() => response.write(': still here\n'), 5);
        response.on('close', () => clearInterval(timer));
      });
      const agent = new Agent({ keepAlive: true });
      const signals: AbortSignal[] = [];
      const errors: unknown[] = [];
      const stream = connect(url, {
        clock: createFakeClock(),
        fetch: nodeFetchWeb(version, agent, signals),
        maxEventSize: 10,
        onError: (error) => errors.push(error),
      });
      stream[Symbol.asyncIterator]()
        .next()
        .catch(() => {});
      await vi.waitFor(() => expect(errors).toHaveLength(1), WAIT);
      expect(errors[0]).toMatchObject({ code: 'ERR_SSE_EVENT_TOO_LARGE' });
      expect(signals.map((signal) => signal.aborted)).toEqual([true]);
      await vi
        .waitFor(() => expect(sockets.size).toBe(0), WAIT)
        .finally(() => {
          stream.close();
          agent.destroy();
        });
    });

  // A body the server ended inside an event (no blank line after it) was read to its end: the cut event is discarded,
  // the request is complete and not aborted, and its socket goes back to the agent's pool (not closed).
  for (const version of [2, 3] as const)
    it(`node-fetch v${version} as a web stream: a body ended inside an event keeps its socket for the pool`, async () => {
      const url = await serve((response) => response.end('data: whole\n\ndata: cut'));
      const agent = new Agent({ keepAlive: true });
      const signals: AbortSignal[] = [];
      const errors: unknown[] = [];
      const events: string[] = [];
      const stream = connect(url, {
        clock: createFakeClock(),
        fetch: nodeFetchWeb(version, agent, signals),
        onError: (error) => errors.push(error),
      });
      void (async () => {
        for await (const event of stream) events.push(event.data);
      })();
      await vi.waitFor(() => expect(Object.values(agent.freeSockets).flat()).toHaveLength(1), WAIT);
      await settle(5);
      expect({
        events,
        errors,
        aborted: signals.map((signal) => signal.aborted),
        sockets: sockets.size,
      }).toEqual({
        events: ['whole'],
        errors: [],
        aborted: [false],
        sockets: 1,
      });
      stream.close();
      agent.destroy();
    });

  // The platform's fetch on a connection the server cuts inside an event: the read rejects (undici's "terminated"), not
  // done, so it is a network error reported and its request aborted, as 0204 has it.
  it('the platform fetch on a connection cut inside an event: a network error, its request aborted', async () => {
    const url = await serve((response) => {
      response.write('data: whole\n\ndata: cut');
      setTimeout(() => response.socket?.destroy(), 5);
    });
    const signals: AbortSignal[] = [];
    const errors: unknown[] = [];
    const events: string[] = [];
    const stream = connect(url, {
      clock: createFakeClock(),
      fetch: (input, init) => {
        signals.push(init.signal as AbortSignal);
        return fetch(input, init);
      },
      onError: (error) => errors.push(error),
    });
    void (async () => {
      for await (const event of stream) events.push(event.data);
    })();
    await vi.waitFor(() => expect(errors).toHaveLength(1), WAIT);
    expect(errors[0]).toMatchObject({ code: 'ERR_SSE_CONNECTION' });
    expect({ events, aborted: signals.map((signal) => signal.aborted) }).toEqual({
      events: ['whole'],
      aborted: [true],
    });
    stream.close();
  });
});

describe('a headers function handing back the same settled promise on every attempt (a cached token)', () => {
  // b8a176c lets go of a settled result and subscribes to it again when it is handed back: the common case (a token
  // cache returning its resolved promise) is read on every attempt, and holds nothing per attempt.
  it('is read on every one of 10,000 attempts and keeps no earlier attempt alive', async () => {
    const clock = createFakeClock();
    const token = Promise.resolve({ authorization: 'Bearer cached' });
    let subscriptions = 0;
    const { then } = token;
    Object.defineProperty(token, 'then', {
      value(this: typeof token, ...args: Parameters<typeof then>) {
        subscriptions++;
        return then.apply(this, args);
      },
    });
    const refs: WeakRef<AbortSignal>[] = [];
    let sent = 0;
    const fetch = async (_url: string, init: RequestInit): Promise<Response> => {
      refs.push(new WeakRef(init.signal as AbortSignal));
      if (new Headers(init.headers).get('authorization') === 'Bearer cached') sent++;
      return Response.error();
    };
    const stream = connect('http://h/x', { clock, fetch, headers: () => token, backoff: () => 1 });
    stream[Symbol.asyncIterator]()
      .next()
      .catch(() => {});
    await settle(1);
    while (refs.length < 10_000) await clock.advance(1);
    await new Promise((resolve) => setTimeout(resolve, 1));
    gc();
    expect(sent).toBe(refs.length);
    // Subscribed to by each attempt (a reaction that runs at once on a settled promise), a bounded number of times.
    expect(subscriptions).toBeGreaterThanOrEqual(refs.length);
    expect(subscriptions).toBeLessThanOrEqual(2 * refs.length + 2);
    expect(refs.filter((ref) => ref.deref() !== undefined).length).toBeLessThanOrEqual(2);
    stream.close();
    await settle(1);
    expect(clock.pendingTimers).toBe(0);
  });
});
