/**
 * Review round 30: cross-review of round 29's fixes. The headers() outcome kept by 058804c, the request signal each
 * attempt aborts in its finally (19843c1).
 */
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
