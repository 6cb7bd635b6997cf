/**
 * The review of `EventSource` and `connect()`'s iterator against the DOM (WHATWG HTML "Server-sent events", WPT
 * eventsource/*), for what the other tests did not pin down yet: listener options, a close() in a handler, the
 * classes and fields of the events, and next() calls pending when the iteration ends. No fix came out of it.
 */
import { connect, EventSource } from '@integ/sse';
import { createFakeClock, drain } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';
import { serveEach, WAIT } from './test-server.js';

const serve = serveEach();

describe('EventSource and connect() against the DOM: the rest of the review', () => {
  it("a synchronous close() in onmessage stops the chunk's other events; the same event's later listeners still run", async () => {
    const srv = await serve(() => ({ chunks: ['data: a\n\ndata: b\n\nevent: x\ndata: c\n\n'], end: 'hang' }));
    const source = new EventSource(srv.url, { clock: createFakeClock() });
    const log: string[] = [];
    source.addEventListener('x', (e) => log.push(`x ${e.data}`));
    source.onerror = () => log.push('error');
    source.onmessage = (e) => {
      log.push(`m ${e.data} ${source.readyState}`);
      source.close();
    };
    source.addEventListener('message', (e) => log.push(`after ${e.data} ${source.readyState}`));
    await vi.waitFor(() => expect(source.readyState).toBe(2), WAIT);
    await drain();
    expect(log).toEqual(['m a 1', 'after a 2']);
  });

  it('a handler that is an object but not a function is kept and skipped, as WebIDL invokes it (no error)', async () => {
    // WebIDL "invoke" a callback function: when IsCallable(F) is false the result is undefined, nothing is
    // thrown (Chromium: no error event, the other listeners run). Before, the handler's listener threw a
    // TypeError, which Node's EventTarget turns into an uncaught exception: the process died on a message.
    const errors: unknown[] = [];
    process.setUncaughtExceptionCaptureCallback((error) => errors.push(error));
    try {
      const srv = await serve(() => ({ chunks: ['data: a\n\n'], end: 'hang' }));
      const source = new EventSource(srv.url, { clock: createFakeClock() });
      const log: string[] = [];
      const handler = { handleEvent: () => log.push('handleEvent') };
      source.onmessage = handler as unknown as null;
      source.onopen = { call: () => log.push('call') } as unknown as null;
      source.addEventListener('message', (e) => log.push(`after ${e.data}`));
      await vi.waitFor(() => expect(log).toEqual(['after a']), WAIT);
      await drain();
      expect(source.onmessage).toBe(handler);
      expect(log).toEqual(['after a']);
      expect(errors).toEqual([]);
      source.close();
    } finally {
      process.setUncaughtExceptionCaptureCallback(null);
    }
  });

  it('addEventListener takes { once }, { signal } and handleEvent objects (called with the object as this)', async () => {
    const srv = await serve(() => ({ chunks: ['data: a\n\ndata: b\n\ndata: c\n\n'], end: 'hang' }));
    const source = new EventSource(srv.url, { clock: createFakeClock() });
    const log: unknown[] = [];
    const controller = new AbortController();
    source.addEventListener('message', (e) => log.push(`once ${e.data}`), { once: true });
    source.addEventListener(
      'message',
      (e) => {
        log.push(`signal ${e.data}`);
        controller.abort();
      },
      { signal: controller.signal },
    );
    const obj = {
      handleEvent(this: unknown, e: MessageEvent) {
        log.push(`obj ${e.data} ${this === obj}`);
      },
    };
    source.addEventListener('message', obj);
    await vi.waitFor(() => expect(log).toHaveLength(5), WAIT);
    await drain();
    expect(log).toEqual(['once a', 'signal a', 'obj a true', 'obj b true', 'obj c true']);
    source.close();
  });

  it('open and error are plain Events, messages MessageEvents with data, lastEventId, origin, no source or ports; readyState OPEN, OPEN, CONNECTING, CLOSED', async () => {
    const srv = await serve((i) => (i === 0 ? { chunks: ['id: 5\ndata: a\n\n'] } : { status: 204 }));
    const clock = createFakeClock();
    const source = new EventSource(srv.url, { clock });
    const events: Event[] = [];
    const states: number[] = [];
    for (const t of ['open', 'message', 'error'])
      source.addEventListener(t, (e) => {
        events.push(e);
        states.push(source.readyState);
      });
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    await clock.advance(30000);
    await vi.waitFor(() => expect(source.readyState).toBe(2), WAIT);
    expect(events.map((e) => [e.type, e.constructor.name, e.bubbles, e.cancelable])).toEqual([
      ['open', 'Event', false, false],
      ['message', 'MessageEvent', false, false],
      ['error', 'Event', false, false],
      ['error', 'Event', false, false],
    ]);
    expect(states).toEqual([1, 1, 0, 2]);
    const m = events[1] as MessageEvent;
    expect([m.data, m.lastEventId, m.origin, m.source, m.ports]).toEqual([
      'a',
      '5',
      new URL(srv.url).origin,
      null,
      [],
    ]);
    expect(m.target).toBe(source);
  });

  it('connect(): close() ends two pending next() calls, and next() after it is done', async () => {
    const srv = await serve(() => ({ end: 'hang' }));
    const stream = connect(srv.url, { clock: createFakeClock() });
    const it = stream[Symbol.asyncIterator]();
    const a = it.next();
    const b = it.next();
    await vi.waitFor(() => expect(srv.requests).toHaveLength(1), WAIT);
    stream.close();
    expect(await a).toEqual({ done: true, value: undefined });
    expect(await b).toEqual({ done: true, value: undefined });
    expect(await it.next()).toEqual({ done: true, value: undefined });
    await srv.closed(0);
  });

  it('connect(): return(value) while a next() is pending ends both, the return with its value', async () => {
    const srv = await serve(() => ({ end: 'hang' }));
    const stream = connect(srv.url, { clock: createFakeClock() });
    const it = stream[Symbol.asyncIterator]();
    const a = it.next();
    await vi.waitFor(() => expect(srv.requests).toHaveLength(1), WAIT);
    const r = it.return?.('v' as never);
    expect(await a).toEqual({ done: true, value: undefined });
    expect(await r).toEqual({ done: true, value: 'v' });
    await srv.closed(0);
  });

  it('connect(): throw(error) while a next() is pending ends the wait and rejects with the error', async () => {
    const srv = await serve(() => ({ end: 'hang' }));
    const stream = connect(srv.url, { clock: createFakeClock() });
    const it = stream[Symbol.asyncIterator]();
    const a = it.next();
    await vi.waitFor(() => expect(srv.requests).toHaveLength(1), WAIT);
    const error = new Error('consumer gave up');
    const t = it.throw?.(error);
    expect(await a).toEqual({ done: true, value: undefined });
    await expect(t).rejects.toBe(error);
    await srv.closed(0);
  });

  it('connect(): break in for await closes the connection with events still buffered; the iterator is done', async () => {
    const srv = await serve(() => ({ chunks: ['data: a\n\ndata: b\n\n'], end: 'hang' }));
    const stream = connect(srv.url, { clock: createFakeClock() });
    const seen: string[] = [];
    for await (const e of stream) {
      seen.push(e.data);
      break;
    }
    expect(seen).toEqual(['a']);
    await srv.closed(0);
    const it = stream[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('connect(): a second for await over a stream left by break yields nothing', async () => {
    const srv = await serve(() => ({ chunks: ['data: a\n\ndata: b\n\n'], end: 'hang' }));
    const stream = connect(srv.url, { clock: createFakeClock() });
    for await (const _ of stream) break;
    const seen: string[] = [];
    for await (const e of stream) seen.push(e.data);
    expect(seen).toEqual([]);
  });
});
