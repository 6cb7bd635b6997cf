/**
 * Review round 30: cross-review of round 29's fixes. The headers() outcome kept by 058804c, the request signal each
 * attempt aborts in its finally (19843c1).
 */
import { getEventListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { connect, EventSource, SseConnectionError } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';
import { settle } from './test-server.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('a headers function after close()', () => {
  // 058804c keeps what headers() returned and how it settled for the session's lifetime: a closed EventSource (or
  // connect() iterable) still held the user's promise and the headers it resolved to (a bearer token).
  it.each(['connect', 'EventSource'])('keeps no reference to its result once %s is closed', async (form) => {
    const clock = createFakeClock();
    const refs: WeakRef<object>[] = [];
    const headers = (): Promise<HeadersInit> => {
      const init = { authorization: 'Bearer secret' };
      const result = Promise.resolve(init);
      refs.push(new WeakRef(init), new WeakRef(result));
      return result;
    };
    const options = { clock, headers, backoff: () => 1000, fetch: async () => Response.error() };
    const client =
      form === 'connect' ? connect('http://h/x', options) : new EventSource('http://h/x', options);
    if (client instanceof EventSource) client.onerror = () => {};
    else
      client[Symbol.asyncIterator]()
        .next()
        .catch(() => {});
    for (let i = 0; i < 3; i++) {
      await settle();
      await clock.advance(1000);
    }
    expect(refs.length).toBeGreaterThanOrEqual(4);
    client.close();
    await settle();
    await new Promise((resolve) => setTimeout(resolve, 1));
    gc();
    expect(refs.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
    expect(client.lastEventId).toBe('');
  });
});

describe('a headers function handing back a result it gave before', () => {
  const track = () => {
    const sent: (string | null)[] = [];
    const errors: unknown[] = [];
    const fetch = async (_url: string, init: RequestInit): Promise<Response> => {
      sent.push(new Headers(init.headers).get('authorization'));
      return new Response(null, { status: 404 });
    };
    return { sent, errors, fetch, onError: (error: unknown) => errors.push(error) };
  };

  // The outcome is not kept for ever: headers() is asked again on every attempt, and a new result is used.
  it('fails each attempt with a rejected promise it hands back, and recovers with a new one', async () => {
    const clock = createFakeClock();
    const refused = Promise.reject(new Error('token service down'));
    refused.catch(() => {});
    let calls = 0;
    const { sent, errors, fetch, onError } = track();
    const headers = (): Promise<HeadersInit> =>
      ++calls < 4 ? refused : Promise.resolve({ authorization: 'Bearer new' });
    const stream = connect('http://h/x', { clock, headers, fetch, onError, backoff: () => 1000 });
    const next = stream[Symbol.asyncIterator]().next();
    next.catch(() => {});
    for (let i = 0; i < 3; i++) {
      await settle();
      await clock.advance(1000);
    }
    await expect(next).rejects.toMatchObject({ code: 'ERR_SSE_STATUS' });
    expect(calls).toBe(4);
    expect(errors.slice(0, 3).map((error) => error instanceof SseConnectionError && error.cause)).toEqual([
      expect.objectContaining({ message: 'token service down' }),
      expect.objectContaining({ message: 'token service down' }),
      expect.objectContaining({ message: 'token service down' }),
    ]);
    expect(sent).toEqual(['Bearer new']);
    expect(clock.pendingTimers).toBe(0);
  });

  // Let go once settled (above), a promise that settled while no attempt waited on it (the reconnection wait after
  // idleTimeout gave up on it) is subscribed to again by the next attempt and used.
  it('uses a promise that settled during the reconnection wait', async () => {
    const clock = createFakeClock();
    let answer!: (init: HeadersInit) => void;
    const pending = new Promise<HeadersInit>((resolve) => {
      answer = resolve;
    });
    const { sent, errors, fetch, onError } = track();
    const headers = vi.fn(() => pending);
    const stream = connect('http://h/x', {
      clock,
      headers,
      fetch,
      onError,
      idleTimeout: 10,
      backoff: () => 1000,
    });
    const next = stream[Symbol.asyncIterator]().next();
    next.catch(() => {});
    await settle();
    await clock.advance(500);
    answer({ authorization: 'Bearer late' });
    await settle();
    expect(sent).toEqual([]);
    await clock.advance(510);
    await expect(next).rejects.toMatchObject({ code: 'ERR_SSE_STATUS' });
    expect(headers).toHaveBeenCalledTimes(2);
    expect(errors[0]).toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(sent).toEqual(['Bearer late']);
  });

  // Promise.resolve() takes a thenable as the standard says: then() called once per subscription, its first call back
  // wins, a throw is a rejection. 058804c kept that rejection for every later attempt handed the same thenable (its
  // then() never called again): the stream reconnected for ever on a token thenable that had failed once.
  it.each([
    [
      'calls back twice, at once',
      (ok: (init: HeadersInit) => void) => {
        ok({ authorization: 'Bearer 1' });
        ok({ authorization: 'Bearer 2' });
      },
      ['Bearer 1'],
    ],
    [
      'throws in then() on its first attempt',
      (ok: (init: HeadersInit) => void, calls: number) => {
        if (calls === 1) throw new Error('then threw');
        ok({ authorization: 'Bearer 2' });
      },
      ['Bearer 2'],
    ],
  ])('takes the same thenable that %s', async (_name, then, expected) => {
    const clock = createFakeClock();
    let thens = 0;
    // biome-ignore lint/suspicious/noThenProperty: a thenable is the point
    const thenable = { then: (ok: (init: HeadersInit) => void) => then(ok, ++thens) };
    const { sent, fetch, onError } = track();
    const headers = () => thenable as unknown as Promise<HeadersInit>;
    const stream = connect('http://h/x', { clock, headers, fetch, onError, backoff: () => 1000 });
    const next = stream[Symbol.asyncIterator]().next();
    next.catch(() => {});
    await settle();
    await clock.advance(1000);
    await settle();
    expect(sent).toEqual(expected);
    await expect(next).rejects.toMatchObject({ code: 'ERR_SSE_STATUS' });
  });
});

describe('a headers function returning a new promise that never settles on every attempt', () => {
  // The brief's bound: 058804c keeps one result (the last), and an earlier one holds our reaction, not we it.
  it('keeps none of the earlier ones alive over 1,000 attempts ended by idleTimeout', async () => {
    const clock = createFakeClock();
    const refs: WeakRef<object>[] = [];
    const headers = (): Promise<HeadersInit> => {
      const result = new Promise<HeadersInit>(() => {});
      refs.push(new WeakRef(result));
      return result;
    };
    const fetch = vi.fn(async () => new Response(null, { status: 404 }));
    const stream = connect('http://h/x', { clock, headers, fetch, idleTimeout: 1, backoff: () => 0 });
    stream[Symbol.asyncIterator]()
      .next()
      .catch(() => {});
    await settle(1);
    while (refs.length < 1000) await clock.advance(1);
    await new Promise((resolve) => setTimeout(resolve, 1));
    gc();
    // The attempt waiting now holds its own.
    expect(refs.filter((ref) => ref.deref() !== undefined).length).toBeLessThanOrEqual(1);
    expect(fetch).not.toHaveBeenCalled();
    stream.close();
  });
});

describe('a headers function whose promise is pending when the client stops', () => {
  it.each(['abort', 'close', 'EventSource close'])(
    'ends at the %s, sends nothing when the promise settles later, and leaves no timer or listener',
    async (how) => {
      const clock = createFakeClock();
      const controller = new AbortController();
      let answer!: (init: HeadersInit) => void;
      const pending = new Promise<HeadersInit>((resolve) => {
        answer = resolve;
      });
      const fetch = vi.fn(async () => new Response(null, { status: 404 }));
      const options = { clock, fetch, headers: () => pending, idleTimeout: 1000 };
      let ended: unknown = 'waiting';
      let close: () => void;
      if (how === 'EventSource close') {
        const source = new EventSource('http://h/x', options);
        source.onerror = () => {};
        close = () => source.close();
      } else {
        const stream = connect('http://h/x', { ...options, signal: controller.signal });
        stream[Symbol.asyncIterator]()
          .next()
          .then(
            (result) => {
              ended = result;
            },
            (error: unknown) => {
              ended = error;
            },
          );
        close = how === 'abort' ? () => controller.abort(new Error('stop')) : () => stream.close();
      }
      await settle();
      await clock.advance(999);
      close();
      await settle();
      if (how === 'abort') expect(ended).toMatchObject({ message: 'stop' });
      if (how === 'close') expect(ended).toEqual({ done: true, value: undefined });
      expect({
        timers: clock.pendingTimers,
        listeners: getEventListeners(controller.signal, 'abort').length,
      }).toEqual({
        timers: 0,
        listeners: 0,
      });
      answer({ authorization: 'Bearer late' });
      await settle();
      await clock.advance(10_000);
      expect(fetch).not.toHaveBeenCalled();
    },
  );
});

describe('the request signal each attempt aborts as it ends (19843c1)', () => {
  // Never aborted while its body is read, nor after a normal end; never the caller's signal, no AbortError taken for a
  // failure after a normal end, and no listener left on the caller's signal however many attempts.
  it('is not aborted by a normal end, over 1,000 of them, and the caller signal is untouched', async () => {
    const clock = createFakeClock();
    const controller = new AbortController();
    const signals: AbortSignal[] = [];
    const readWhileAborted: number[] = [];
    const errors: unknown[] = [];
    // Ends the body of attempt i (its server closing the stream).
    const ends: (() => void)[] = [];
    const fetch = async (_url: string, init: RequestInit): Promise<Response> => {
      const signal = init.signal as AbortSignal;
      signals.push(signal);
      const n = signals.length;
      const body = new ReadableStream<Uint8Array>({
        start(stream) {
          stream.enqueue(new TextEncoder().encode(`id: ${n}\ndata: x\n\n`));
          ends.push(() => stream.close());
        },
        pull() {
          if (signal.aborted) readWhileAborted.push(n);
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    };
    const stream = connect('http://h/x', {
      clock,
      fetch,
      signal: controller.signal,
      backoff: () => 1000,
      onError: (error) => errors.push(error),
    });
    const iterator = stream[Symbol.asyncIterator]();
    let most = 0;
    for (let i = 1; i <= 1000; i++) {
      expect(await iterator.next()).toMatchObject({ value: { data: 'x', lastEventId: String(i) } });
      // The live connection's signal is not aborted while it is read.
      expect(signals[i - 1]?.aborted).toBe(false);
      most = Math.max(most, getEventListeners(controller.signal, 'abort').length);
      await settle(2);
      expect(signals[i - 1]?.aborted).toBe(false);
      ends[i - 1]?.();
      await settle(5);
      expect(clock.pendingTimers).toBe(1);
      // Nor once its server ended it: the request is complete, and aborting it only told the custom fetch's listeners.
      expect(signals[i - 1]?.aborted).toBe(false);
      await clock.advance(1000);
    }
    expect({ readWhileAborted, errors, most, aborted: controller.signal.aborted }).toEqual({
      readWhileAborted: [],
      errors: [],
      most: 1,
      aborted: false,
    });
    stream.close();
    await settle(2);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(controller.signal.aborted).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe("a custom fetch's abort listener after a normal end", () => {
  // 19843c1 aborted every attempt's request in its finally, also one whose body the server had ended: a mock that closes
  // its stream when its request is aborted (as a test server does) threw ERR_INVALID_STATE from its listener, an uncaught
  // exception, after every normal end, and a wrapper logging aborted requests logged one per reconnection.
  it.each(['connect', 'EventSource'])('is not called for %s (decision 0209)', async (form) => {
    const clock = createFakeClock();
    const aborted = vi.fn();
    const fetch = async (_url: string, init: RequestInit): Promise<Response> => {
      const body = new ReadableStream<Uint8Array>({
        start(stream) {
          stream.enqueue(new TextEncoder().encode('data: x\n\n'));
          stream.close();
          init.signal?.addEventListener('abort', aborted);
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    };
    const events: string[] = [];
    const options = { clock, fetch, backoff: () => 1000 };
    const client =
      form === 'connect' ? connect('http://h/x', options) : new EventSource('http://h/x', options);
    if (client instanceof EventSource) client.onmessage = (event) => events.push(event.data);
    else
      void (async () => {
        for await (const event of client) events.push(event.data);
      })();
    for (let i = 0; i < 3; i++) {
      await settle();
      await clock.advance(1000);
    }
    await settle();
    expect(events).toEqual(['x', 'x', 'x', 'x']);
    expect(aborted).not.toHaveBeenCalled();
    client.close();
  });
});
