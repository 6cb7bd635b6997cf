/**
 * Fourth, spec-first reading of the client (2026-11-24): each test here failed before the fix it names.
 */

import { TimeoutError } from '@integ/core';
import {
  connect,
  EventSource,
  isEventStream,
  type ReconnectInfo,
  SseConnectionError,
  SseHttpError,
} from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';
import { ev, WAIT } from './test-server.js';

/** An event stream that sends `text` and stays open (close() cancels it). */
const stream = (text: string): Response =>
  new Response(new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(new TextEncoder().encode(text)) }), {
    headers: { 'content-type': 'text/event-stream' },
  });

/** A fetch that gives a network error response (`Response.error()`) first, then an open stream of `data: a`. */
const errorThenStream = () => {
  let calls = 0;
  return vi.fn(async () => (++calls === 1 ? Response.error() : stream('data: a\n\n')));
};

// HTML, EventSource, "processing the response": "if res is an aborted network error, then fail the connection.
// Otherwise, if res is a network error, then reestablish the connection". Response.error() is a network error
// (type 'error', status 0) and not an aborted one: it was taken for a status other than 200 and failed for good.
describe('a custom fetch returning a network error response (Response.error())', () => {
  it('connect() reconnects, as after a rejected fetch', async () => {
    const clock = createFakeClock();
    const fetch = errorThenStream();
    const errors: unknown[] = [];
    const reconnects: ReconnectInfo[] = [];
    const source = connect('http://sse.test/live', {
      fetch,
      clock,
      backoff: () => 10,
      onError: (error) => errors.push(error),
      onReconnect: (info) => reconnects.push(info),
    });
    const it = source[Symbol.asyncIterator]();
    const next = it.next();
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SseConnectionError);
    expect((errors[0] as Error).cause).toMatchObject({ type: 'error', status: 0 });
    expect(reconnects.map((info) => [info.attempt, info.delay])).toEqual([[1, 10]]);
    await clock.advance(10);
    expect((await next).value).toEqual(ev('a'));
    expect(fetch).toHaveBeenCalledTimes(2);
    source.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('EventSource fires error with readyState CONNECTING, then opens again and delivers', async () => {
    const clock = createFakeClock();
    const source = new EventSource('http://sse.test/live', {
      fetch: errorThenStream(),
      clock,
      backoff: () => 10,
    });
    const seen: [string, number, string?][] = [];
    source.onerror = () => seen.push(['error', source.readyState]);
    source.onopen = () => seen.push(['open', source.readyState]);
    source.onmessage = (event) => seen.push(['message', source.readyState, event.data]);
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    expect(seen).toEqual([['error', EventSource.CONNECTING]]);
    await clock.advance(10);
    await vi.waitFor(() => expect(seen).toHaveLength(3), WAIT);
    expect(seen).toEqual([
      ['error', EventSource.CONNECTING],
      ['open', EventSource.OPEN],
      ['message', EventSource.OPEN, 'a'],
    ]);
    source.close();
    expect(clock.pendingTimers).toBe(0);
  });
});

// WHATWG mimesniff, "parse a MIME type": only HTTP whitespace (tab, LF, CR, space) is stripped around the type and
// before ';'; any other character there leaves a subtype that is not a token, so the parse fails. The check used
// JavaScript's \s, which also takes \v, \f, NBSP and the Unicode spaces.
describe('isEventStream strips HTTP whitespace only', () => {
  it('still accepts tab, LF, CR and space around the type and before ";", any case, parameters allowed', () => {
    for (const ws of ['\t', '\n', '\r', ' ', ' \t\r\n ']) {
      expect(isEventStream(`${ws}text/event-stream${ws}`)).toBe(true);
      expect(isEventStream(`${ws}TEXT/Event-Stream${ws};charset=utf-8`)).toBe(true);
    }
    expect(isEventStream('text/event-stream;charset=utf-8')).toBe(true);
    expect(isEventStream(' TEXT/Event-Stream ')).toBe(true);
  });

  it('refuses a type with any other white space around it (\\v, \\f, NBSP, U+FEFF, U+2028, U+3000)', () => {
    for (const ws of ['\v', '\f', '\u00a0', '\ufeff', '\u2028', '\u3000']) {
      expect(isEventStream(`text/event-stream${ws}`)).toBe(false);
      expect(isEventStream(`${ws}text/event-stream`)).toBe(false);
      expect(isEventStream(`text/event-stream${ws};charset=utf-8`)).toBe(false);
    }
  });

  it('connect() fails for good on a response whose Content-Type is text/event-stream\\v', async () => {
    const clock = createFakeClock();
    const fetch = vi.fn(
      async () => new Response('data: a\n\n', { headers: { 'content-type': 'text/event-stream\v' } }),
    );
    const source = connect('http://sse.test/live', { fetch, clock });
    const error = await source[Symbol.asyncIterator]()
      .next()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SseHttpError);
    expect(error).toMatchObject({ code: 'ERR_SSE_CONTENT_TYPE', contentType: 'text/event-stream\v' });
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(clock.pendingTimers).toBe(0);
  });
});

// HTML, EventSource: close() "must abort any instances of the fetch algorithm started for this EventSource object",
// and aborting a fetch whose response has arrived terminates its body. A custom fetch that ignores the signal may
// still resolve after close() or after the idle watchdog aborted the attempt: that late response was dropped
// unread and never cancelled, so its connection stayed open for good (one more per watchdog reconnection).
describe('a response that arrives after its request was aborted', () => {
  /** A fetch ignoring the signal: the first call resolves when the test says; later ones give `data: b`. */
  const lateFetch = () => {
    const late: { resolve?: (response: Response) => void; cancelled: boolean } = { cancelled: false };
    let calls = 0;
    const fetch = vi.fn(() => {
      if (++calls > 1) return Promise.resolve(stream('data: b\n\n'));
      return new Promise<Response>((resolve) => {
        late.resolve = resolve;
      });
    });
    const body = () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start: (c) => c.enqueue(new TextEncoder().encode('data: a\n\n')),
          cancel: () => {
            late.cancelled = true;
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      );
    return { fetch, late, body };
  };

  it('after close(), its body is cancelled', async () => {
    const clock = createFakeClock();
    const { fetch, late, body } = lateFetch();
    const source = connect('http://sse.test/live', { fetch, clock });
    await vi.waitFor(() => expect(fetch).toHaveBeenCalledTimes(1), WAIT);
    source.close();
    late.resolve?.(body());
    await vi.waitFor(() => expect(late.cancelled).toBe(true), WAIT);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('after the idle watchdog ended the attempt, its body is cancelled and the reconnection reports the timeout', async () => {
    const clock = createFakeClock();
    const { fetch, late, body } = lateFetch();
    const reconnects: ReconnectInfo[] = [];
    const source = connect('http://sse.test/live', {
      fetch,
      clock,
      idleTimeout: 1000,
      backoff: () => 10,
      onReconnect: (info) => reconnects.push(info),
    });
    const it = source[Symbol.asyncIterator]();
    await vi.waitFor(() => expect(fetch).toHaveBeenCalledTimes(1), WAIT);
    await clock.advance(1000);
    late.resolve?.(body());
    await vi.waitFor(() => expect(reconnects).toHaveLength(1), WAIT);
    expect(late.cancelled).toBe(true);
    expect(reconnects[0]?.error).toBeInstanceOf(TimeoutError);
    await clock.advance(10);
    expect((await it.next()).value).toEqual(ev('b'));
    source.close();
  });
});

// README, idleTimeout: "also covers waiting for a `headers` function and for the response head". A custom fetch that
// ignores the request's signal and never settles held the attempt for good: the watchdog aborted a signal nobody
// listened to, so the client never reconnected, and aborting connect()'s `signal` left a waiting next() pending.
describe('a custom fetch that ignores the signal and never settles', () => {
  /** The first call never settles, whatever the signal; later calls give an open stream of `data: b`. */
  const hungFetch = () => {
    let calls = 0;
    return vi.fn(() =>
      ++calls === 1 ? new Promise<Response>(() => {}) : Promise.resolve(stream('data: b\n\n')),
    );
  };

  it('connect() reconnects after idleTimeout and reports the TimeoutError', async () => {
    const clock = createFakeClock();
    const fetch = hungFetch();
    const reconnects: ReconnectInfo[] = [];
    const source = connect('http://sse.test/live', {
      fetch,
      clock,
      idleTimeout: 50,
      backoff: () => 10,
      onReconnect: (info) => reconnects.push(info),
    });
    const it = source[Symbol.asyncIterator]();
    const next = it.next();
    await vi.waitFor(() => expect(fetch).toHaveBeenCalledTimes(1), WAIT);
    await clock.advance(50);
    await vi.waitFor(() => expect(reconnects).toHaveLength(1), WAIT);
    expect(reconnects[0]?.error).toBeInstanceOf(TimeoutError);
    await clock.advance(10);
    expect((await next).value).toEqual(ev('b'));
    expect(fetch).toHaveBeenCalledTimes(2);
    source.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('EventSource fires error with readyState CONNECTING after idleTimeout, then opens again and delivers', async () => {
    const clock = createFakeClock();
    const source = new EventSource('http://sse.test/live', {
      fetch: hungFetch(),
      clock,
      idleTimeout: 50,
      backoff: () => 10,
    });
    const seen: [string, number, string?][] = [];
    source.onerror = () => seen.push(['error', source.readyState]);
    source.onopen = () => seen.push(['open', source.readyState]);
    source.onmessage = (event) => seen.push(['message', source.readyState, event.data]);
    await clock.advance(50);
    await vi.waitFor(() => expect(seen).toEqual([['error', EventSource.CONNECTING]]), WAIT);
    await clock.advance(10);
    await vi.waitFor(() => expect(seen).toHaveLength(3), WAIT);
    expect(seen).toEqual([
      ['error', EventSource.CONNECTING],
      ['open', EventSource.OPEN],
      ['message', EventSource.OPEN, 'b'],
    ]);
    source.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it("aborting connect()'s signal rejects a waiting next() with the reason", async () => {
    const clock = createFakeClock();
    const fetch = hungFetch();
    const controller = new AbortController();
    const source = connect('http://sse.test/live', {
      fetch,
      clock,
      idleTimeout: 50,
      signal: controller.signal,
    });
    const next = source[Symbol.asyncIterator]()
      .next()
      .catch((caught: unknown) => caught);
    await vi.waitFor(() => expect(fetch).toHaveBeenCalledTimes(1), WAIT);
    const reason = new Error('gone');
    controller.abort(reason);
    expect(await next).toBe(reason);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('close() ends a waiting next() and EventSource, with no timer left', async () => {
    const clock = createFakeClock();
    const fetch = hungFetch();
    const source = connect('http://sse.test/live', { fetch, clock, idleTimeout: 50 });
    const next = source[Symbol.asyncIterator]().next();
    await vi.waitFor(() => expect(fetch).toHaveBeenCalledTimes(1), WAIT);
    source.close();
    expect(await next).toEqual({ done: true, value: undefined });
    const other = new EventSource('http://sse.test/live', { fetch: hungFetch(), clock, idleTimeout: 50 });
    const fired: string[] = [];
    other.onerror = () => fired.push('error');
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    other.close();
    expect(other.readyState).toBe(EventSource.CLOSED);
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(1000);
    expect(fired).toEqual([]);
  });
});

// HTML, EventSource, processResponse: a 200 text/event-stream response is announced ("announce the connection and
// interpret res's body line by line") before its body is read, and processEventSourceEndOfBody then reestablishes
// the connection. A response without a body (new Response(null), a HEAD request) reconnected without announcing.
describe('a 200 text/event-stream response without a body', () => {
  /** A fetch whose first response has a null body, then an open stream of `data: a`. */
  const emptyThenStream = () => {
    let calls = 0;
    return vi.fn(async () =>
      ++calls === 1
        ? new Response(null, { headers: { 'content-type': 'text/event-stream' } })
        : stream('data: a\n\n'),
    );
  };

  it('connect() calls onOpen, then reconnects as after a normal end', async () => {
    const clock = createFakeClock();
    const opened: Response[] = [];
    const reconnects: ReconnectInfo[] = [];
    const source = connect('http://sse.test/live', {
      fetch: emptyThenStream(),
      clock,
      backoff: () => 10,
      onOpen: ({ response }) => opened.push(response),
      onReconnect: (info) => reconnects.push(info),
    });
    const next = source[Symbol.asyncIterator]().next();
    await vi.waitFor(() => expect(reconnects).toHaveLength(1), WAIT);
    expect(opened).toHaveLength(1);
    expect(reconnects[0]?.error).toBeUndefined();
    await clock.advance(10);
    expect((await next).value).toEqual(ev('a'));
    expect(opened).toHaveLength(2);
    source.close();
  });

  it('EventSource fires open, then error with readyState CONNECTING, then opens again and delivers', async () => {
    const clock = createFakeClock();
    const source = new EventSource('http://sse.test/live', {
      fetch: emptyThenStream(),
      clock,
      backoff: () => 10,
    });
    const seen: [string, number, string?][] = [];
    source.onerror = () => seen.push(['error', source.readyState]);
    source.onopen = () => seen.push(['open', source.readyState]);
    source.onmessage = (event) => seen.push(['message', source.readyState, event.data]);
    await vi.waitFor(() => expect(seen).toHaveLength(2), WAIT);
    await clock.advance(10);
    await vi.waitFor(() => expect(seen).toHaveLength(4), WAIT);
    expect(seen).toEqual([
      ['open', EventSource.OPEN],
      ['error', EventSource.CONNECTING],
      ['open', EventSource.OPEN],
      ['message', EventSource.OPEN, 'a'],
    ]);
    source.close();
    expect(clock.pendingTimers).toBe(0);
  });
});
