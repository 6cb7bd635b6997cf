/**
 * Review round 37 (mutation survivors, CLIENT): behaviour of connect(), EventSource and the session that the README,
 * DESIGN.md or an error message promises and that no test pinned: option checks naming the option and what to pass,
 * the queue's high-water marks, the Invalid URL SyntaxError, and each handler running once where EventTarget calls
 * `on<type>` itself (workerd).
 */
import { InvalidArgumentError } from '@integ/core';
import { connect, EventSource } from '@integ/sse';
import { createFakeClock, drain } from '@integ/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';

const URL_ = 'http://h/x';
const never: typeof fetch = () => new Promise<Response>(() => {});
const sse = (body: BodyInit | null): Response =>
  new Response(body, { headers: { 'content-type': 'text/event-stream' } });

/** The InvalidArgumentError thrown by `run`. */
function refusal(run: () => unknown): InvalidArgumentError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    return error as InvalidArgumentError;
  }
  throw new Error('nothing thrown');
}

/** The error the iteration of a connection to `fetch` ends with. */
async function iterationError(fetchFn: typeof fetch): Promise<unknown> {
  const clock = createFakeClock();
  const stream = connect(URL_, { fetch: fetchFn, clock, backoff: () => 0 });
  try {
    for await (const _ of stream);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('connect() refuses options up front, naming the option', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('options that are not an object', () => {
    expect(refusal(() => connect(URL_, 'x' as never)).argument).toBe('options');
  });

  it('no fetch at all: neither given nor global', () => {
    vi.stubGlobal('fetch', undefined);
    expect(refusal(() => connect(URL_)).argument).toBe('fetch');
  });

  it('a clock without setTimeout', () => {
    const clock = { now: () => 0, clearTimeout: () => {} };
    expect(refusal(() => connect(URL_, { fetch: never, clock: clock as never })).argument).toBe('clock');
  });

  it('a signal whose aborted is no boolean', () => {
    const signal = { aborted: 'no', addEventListener() {}, removeEventListener() {} };
    expect(refusal(() => connect(URL_, { fetch: never, signal: signal as never })).argument).toBe('signal');
  });

  it('a signal stub without removeEventListener, saying an AbortSignal is expected', () => {
    const error = refusal(() => connect(URL_, { fetch: never, signal: { aborted: false } as never }));
    expect(error.argument).toBe('signal');
    expect(error.message).toMatch(/expected an AbortSignal/);
  });

  it('a URL with a user name only, or a password only', () => {
    expect(refusal(() => connect('http://user@h/x', { fetch: never })).argument).toBe('url');
    expect(refusal(() => connect('http://:pw@h/x', { fetch: never })).argument).toBe('url');
  });

  it('a stream body, saying why (sent again on reconnect)', () => {
    const body = new ReadableStream();
    const error = refusal(() => connect(URL_, { fetch: never, method: 'POST', body: body as never }));
    expect(error.argument).toBe('body');
    expect(error.message).toMatch(/no stream/);
  });

  it('takes a body with methods that only contain GET or HEAD (FORGET, GETS, HEADER)', () => {
    for (const method of ['FORGET', 'GETS', 'HEADER', 'OVERHEAD'])
      connect(URL_, { fetch: never, method, body: 'x' }).close();
  });
});

describe('connect() ends the stream when fetch gives no usable Response, saying what to pass', () => {
  it('an object without headers', async () => {
    const error = await iterationError(async () => ({}) as Response);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).argument).toBe('fetch');
    expect((error as InvalidArgumentError).message).toMatch(/a function returning a new Response/);
  });

  it('a Response whose body was used', async () => {
    const used = sse('data: a\n\n');
    await used.text();
    const error = await iterationError(async () => used);
    expect((error as InvalidArgumentError).argument).toBe('fetch');
    expect((error as InvalidArgumentError).message).toMatch(/a function returning a new Response/);
  });

  it('a body whose chunks are not bytes', async () => {
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue('data: a\n\n');
        controller.close();
      },
    });
    const error = await iterationError(async () => sse(body as never));
    expect((error as InvalidArgumentError).argument).toBe('fetch');
    expect((error as InvalidArgumentError).message).toMatch(/a function returning a new Response/);
  });
});

describe('connect() with a headers() function', () => {
  it('sends what the current attempt asked for, not a result an attempt given up on gives late', async () => {
    const clock = createFakeClock();
    const results: Array<(value: Record<string, string>) => void> = [];
    const sent: Array<string | null> = [];
    const stream = connect(URL_, {
      clock,
      idleTimeout: 1000,
      backoff: () => 0,
      headers: () => new Promise((resolve) => results.push(resolve)),
      fetch: async (_, init) => {
        sent.push(new Headers(init?.headers).get('x-token'));
        return new Promise<Response>(() => {});
      },
    });
    const done = (async () => {
      try {
        for await (const _ of stream);
      } catch {}
    })();
    await drain(10);
    expect(results).toHaveLength(1);
    // The first attempt waits on a hung headers(): the watchdog gives up on it, the next attempt asks again.
    await clock.advance(1000);
    await drain(10);
    await clock.advance(0);
    await drain(10);
    expect(results).toHaveLength(2);
    results[0]?.({ 'x-token': 'old' });
    await drain(10);
    expect(sent).toEqual([]);
    results[1]?.({ 'x-token': 'new' });
    await drain(10);
    expect(sent).toEqual(['new']);
    stream.close();
    await done;
  });
});

describe('connect() ends the stream for a scheme fetch cannot get', () => {
  it('even when the URL holds "http:" past its scheme', async () => {
    const clock = createFakeClock();
    const stream = connect('about:blank#http://h/', {
      clock,
      backoff: () => 0,
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    let error: unknown;
    const done = (async () => {
      try {
        for await (const _ of stream);
      } catch (thrown) {
        error = thrown;
      }
    })();
    await drain(20);
    await clock.advance(1000);
    await drain(20);
    stream.close();
    await done;
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).argument).toBe('url');
  });
});

describe('connect() stops reading once its queue holds the high-water mark', () => {
  /** A body that gives `chunk()` on each read, counting the reads asked of it. */
  function counted(chunk: () => string): { fetch: typeof fetch; reads: () => number } {
    let reads = 0;
    const encoder = new TextEncoder();
    return {
      fetch: async () =>
        sse(
          new ReadableStream(
            {
              pull(controller) {
                reads++;
                controller.enqueue(encoder.encode(chunk()));
              },
            },
            { highWaterMark: 0 },
          ),
        ),
      reads: () => reads,
    };
  }

  it('at 1024 events not taken', async () => {
    const body = counted(() => 'data: a\n\n');
    const stream = connect(URL_, { fetch: body.fetch, clock: createFakeClock() });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    await drain(3000);
    // The first event was taken: 1024 more fill the queue, and no read is asked for past them.
    expect(body.reads()).toBe(1025);
    stream.close();
  });

  it('at 1 MiB of data not taken', async () => {
    const half = 'x'.repeat(524_288);
    const body = counted(() => `data: ${half}\n\ndata: ${half}\n\n`);
    const stream = connect(URL_, { fetch: body.fetch, clock: createFakeClock() });
    stream[Symbol.asyncIterator]();
    await drain(200);
    expect(body.reads()).toBe(1);
    stream.close();
  });
});

describe('EventSource', () => {
  it('throws a SyntaxError naming the URL as invalid', () => {
    let error: unknown;
    try {
      new EventSource('http://[');
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('SyntaxError');
    expect((error as DOMException).message).toMatch(/URL/);
  });

  it('reads its onerror handler again once the error event is dispatched', async () => {
    const source = new EventSource(URL_, {
      clock: createFakeClock(),
      fetch: async () => new Response(null, { status: 204 }),
    } as never);
    const handler = (): void => {};
    source.onerror = handler;
    await drain(10);
    expect(source.readyState).toBe(2);
    expect(source.onerror).toBe(handler);
  });

  it('runs onerror once where EventTarget calls on<type> itself (workerd)', async () => {
    const dispatchEvent = EventTarget.prototype.dispatchEvent;
    EventTarget.prototype.dispatchEvent = function (this: EventTarget, event: Event): boolean {
      const handler: unknown = (this as unknown as Record<string, unknown>)[`on${event.type}`];
      if (typeof handler === 'function') handler.call(undefined, event);
      return dispatchEvent.call(this, event);
    };
    try {
      const clock = createFakeClock();
      const source = new EventSource(URL_, {
        clock,
        fetch: async () => new Response(null, { status: 204 }),
        backoff: () => 0,
      } as never);
      let errors = 0;
      source.onerror = () => errors++;
      await drain(10);
      expect(source.readyState).toBe(2);
      expect(errors).toBe(1);
      // Read after the dispatch, the handler is there again (it reads as none only while its event is dispatched).
      expect(source.onerror).not.toBeNull();
    } finally {
      EventTarget.prototype.dispatchEvent = dispatchEvent;
    }
  });
});
