/**
 * Third, spec-first reading of the client (2026-11-24): each test here failed before the fix it names.
 */
import { InvalidArgumentError, TimeoutError } from '@integ/core';
import { RetryError } from '@integ/retry';
import {
  connect,
  EventSource,
  type ReconnectInfo,
  SseConnectionError,
  type SseEvent,
  SseHttpError,
} from '@integ/sse';
import { createFakeClock, drain } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';
import { ev, serveEach, WAIT } from './test-server.js';

const serve = serveEach();

/** A fetch whose every response is an open event stream that never ends (until aborted). */
const hangingFetch = () =>
  vi.fn(
    async (_url: string | URL | Request, init?: RequestInit) =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('data: a\n\n'));
            init?.signal?.addEventListener('abort', () => controller.error(init.signal?.reason));
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      ),
  );

describe('connect: return() and throw() on the iterator', () => {
  it('return() before the first next() closes the connection: nothing fetched, no timer, the iteration is done', async () => {
    const clock = createFakeClock();
    const fetch = hangingFetch();
    const stream = connect('http://sse.test/live', { fetch, clock, idleTimeout: 1000 });
    const iterator = stream[Symbol.asyncIterator]();
    expect(await iterator.return?.()).toEqual({ done: true, value: undefined });
    await drain();
    expect(fetch).not.toHaveBeenCalled();
    expect(clock.pendingTimers).toBe(0);
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('throw() before the first next() closes the connection too, and rejects with its error', async () => {
    const clock = createFakeClock();
    const fetch = hangingFetch();
    const stream = connect('http://sse.test/live', { fetch, clock, idleTimeout: 1000 });
    const iterator = stream[Symbol.asyncIterator]();
    const error = new Error('consumer gave up');
    await expect(iterator.throw?.(error)).rejects.toBe(error);
    await drain();
    expect(fetch).not.toHaveBeenCalled();
    expect(clock.pendingTimers).toBe(0);
  });

  it('return() while a next() waits for an event ends that wait and the connection at once', async () => {
    const clock = createFakeClock();
    const fetch = hangingFetch();
    const stream = connect('http://sse.test/live', { fetch, clock, idleTimeout: 1000 });
    const iterator = stream[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.data).toBe('a');
    const pending = iterator.next();
    await drain();
    const signal = fetch.mock.calls[0]?.[1]?.signal;
    await iterator.return?.();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(signal?.aborted).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    expect(fetch).toHaveBeenCalledTimes(1);
  });
});

// Node's fetch (undici) refuses a header value with a control character other than tab, as RFC 9110 5.5 makes
// it invalid, on every request: "fetch failed", which the client took for a network error and retried forever.
describe('connect: control characters never reach a request header', () => {
  it('refuses a lastEventId or static headers with a control character up front, as InvalidArgumentError', () => {
    for (const lastEventId of ['a\x01b', '\x1f', 'a\x7f'])
      expect(() => connect('http://sse.test/', { lastEventId })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'lastEventId' }),
      );
    for (const headers of [{ 'x-a': 'a\x01b' }, [['x-a', 'a\x0bb']] as [string, string][]])
      expect(() => connect('http://sse.test/', { headers })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'headers' }),
      );
    // A tab is a valid header character, and so is every character of an id sent as UTF-8.
    const stream = connect('http://sse.test/', { lastEventId: 'a\tb€', headers: { 'x-a': 'a\tb\x80' } });
    stream.close();
  });

  it('a headers() function returning one ends the iteration with InvalidArgumentError (headers)', async () => {
    const srv = await serve(() => ({ chunks: ['data: in\n\n'], end: 'hang' }));
    const clock = createFakeClock();
    const reconnects: ReconnectInfo[] = [];
    const stream = connect(srv.url, {
      clock,
      headers: async () => ({ authorization: 'Bearer a\x01b' }),
      onReconnect: (info) => {
        reconnects.push(info);
        stream.close();
      },
    });
    const error = await stream[Symbol.asyncIterator]()
      .next()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ argument: 'headers' });
    expect(reconnects).toEqual([]);
    expect(srv.requests).toHaveLength(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('an id with a control character is delivered as is, and a reconnection sends the last id it can send', async () => {
    const srv = await serve((i) =>
      i === 0
        ? { chunks: ['id: 1\ndata: a\n\nid: x\x01y\ndata: b\n\n'] }
        : i === 1
          ? { chunks: ['data: c\n\nid: t\tu\ndata: d\n\n'] }
          : { chunks: ['data: e\n\n'], end: 'hang' },
    );
    const clock = createFakeClock();
    const errors: unknown[] = [];
    const reconnects: ReconnectInfo[] = [];
    const stream = connect(srv.url, {
      clock,
      backoff: () => 10,
      onError: (error) => errors.push(error),
      onReconnect: (info) => reconnects.push(info),
    });
    const it = stream[Symbol.asyncIterator]();
    // The next event, advancing the fake clock over reconnection waits until it comes.
    const next = async (): Promise<SseEvent | undefined> => {
      let settled = false;
      const result = it.next().finally(() => {
        settled = true;
      });
      await vi.waitFor(async () => {
        if (!settled && clock.pendingTimers > 0) await clock.advance(10);
        expect(settled).toBe(true);
      }, WAIT);
      return (await result).value;
    };
    // MessageEvent.lastEventId is the stream's, exactly as the standard says (only NULL is ignored).
    expect(await next()).toEqual(ev('a', '1'));
    expect(await next()).toEqual(ev('b', 'x\x01y'));
    expect(await next()).toEqual(ev('c', 'x\x01y'));
    expect(await next()).toEqual(ev('d', 't\tu'));
    expect(await next()).toEqual(ev('e', 't\tu'));
    expect(srv.requests.map((r) => r.lastEventId)).toEqual([undefined, '1', 't\tu']);
    expect(reconnects.map((r) => r.lastEventId)).toEqual(['1', 't\tu']);
    expect(errors).toEqual([]);
    stream.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('EventSource too: the reconnection after such an id opens again', async () => {
    const srv = await serve((i) =>
      i === 0
        ? { chunks: ['id: 7\ndata: a\n\nid: \x7f\ndata: b\n\n'] }
        : { chunks: ['data: c\n\n'], end: 'hang' },
    );
    const clock = createFakeClock();
    const source = new EventSource(srv.url, { clock, backoff: () => 10 });
    const seen: string[] = [];
    source.onopen = () => seen.push('open');
    source.onerror = () => seen.push(`error ${source.readyState}`);
    source.onmessage = (event) => seen.push(`${event.data} ${encodeURIComponent(event.lastEventId)}`);
    await vi.waitFor(async () => {
      if (clock.pendingTimers > 0) await clock.advance(10);
      expect(seen).toContain('c %7F');
    }, WAIT);
    expect(seen).toEqual(['open', 'a 7', 'b %7F', 'error 0', 'open', 'c %7F']);
    expect(srv.requests.map((r) => r.lastEventId)).toEqual([undefined, '7']);
    source.close();
    expect(clock.pendingTimers).toBe(0);
  });
});

// README: "A function that throws (or rejects) is a failed attempt: onError gets an SseConnectionError with its
// error as cause, and the client reconnects". An @integ error (a token fetch through @integ/retry or
// @integ/client rejects with one) was passed on as is: a TimeoutError read as the watchdog's, an SseHttpError
// ended the stream for good, and on a data: URL any error was blamed on the url.
describe('connect: whatever a headers() function throws is a failed attempt', () => {
  const cases: [string, () => unknown][] = [
    ['a TimeoutError', () => new TimeoutError(5000, 'Fetching a token')],
    ['a RetryError', () => new RetryError(3, [new Error('token service down')])],
    ['an SseHttpError', () => new SseHttpError('ERR_SSE_STATUS', 401, null, 'https://auth.test/token')],
  ];
  for (const [name, make] of cases)
    for (const how of ['rejects', 'throws'] as const)
      it(`one that ${how} ${name}: onError gets an SseConnectionError with it as cause, and the client reconnects`, async () => {
        const clock = createFakeClock();
        const fetch = hangingFetch();
        const errors: unknown[] = [];
        const thrown = make();
        let calls = 0;
        const stream = connect('http://sse.test/live', {
          fetch,
          clock,
          backoff: () => 10,
          headers:
            how === 'rejects'
              ? async () => {
                  if (++calls === 1) throw thrown;
                  return {};
                }
              : () => {
                  if (++calls === 1) throw thrown;
                  return {};
                },
          onError: (error) => errors.push(error),
        });
        const it = stream[Symbol.asyncIterator]();
        const next = it.next();
        await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
        expect(errors).toHaveLength(1);
        expect(errors[0]).toBeInstanceOf(SseConnectionError);
        expect((errors[0] as Error).cause).toBe(thrown);
        await clock.advance(10);
        expect((await next).value).toEqual(ev('a'));
        stream.close();
        expect(clock.pendingTimers).toBe(0);
      });

  it('on a data: URL too it is retried, not taken for a URL fetch cannot get', async () => {
    const clock = createFakeClock();
    const errors: unknown[] = [];
    let calls = 0;
    const stream = connect('data:text/event-stream,data:%20a%0A%0A', {
      clock,
      backoff: () => 10,
      headers: () => {
        if (++calls === 1) throw new Error('token service down');
        return {};
      },
      onError: (error) => errors.push(error),
    });
    const it = stream[Symbol.asyncIterator]();
    const next = it.next();
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    expect(errors[0]).toBeInstanceOf(SseConnectionError);
    await clock.advance(10);
    expect((await next).value).toEqual(ev('a'));
    stream.close();
  });
});
