import { EventSource } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';

import { serveEach, startSseServer, WAIT } from './test-server.js';

const serve = serveEach();
const sources: EventSource[] = [];
afterEach(() => {
  for (const source of sources.splice(0)) source.close();
});

function open(url: string, init?: ConstructorParameters<typeof EventSource>[1]): EventSource {
  const source = new EventSource(url, init);
  sources.push(source);
  return source;
}

describe('EventSource', () => {
  it('has the DOM constants, url, withCredentials and starts CONNECTING', async () => {
    const srv = await serve(() => ({ end: 'hang' }));
    const source = open(srv.url, { withCredentials: true });
    expect([EventSource.CONNECTING, EventSource.OPEN, EventSource.CLOSED]).toEqual([0, 1, 2]);
    expect([source.CONNECTING, source.OPEN, source.CLOSED]).toEqual([0, 1, 2]);
    expect(source.readyState).toBe(EventSource.CONNECTING);
    expect(source.url).toBe(srv.url);
    expect(source.withCredentials).toBe(true);
    expect(open(srv.url).withCredentials).toBe(false);
    expect(source).toBeInstanceOf(EventTarget);
  });

  it('keeps CONNECTING, OPEN and CLOSED on the class and its prototype as read-only constants, as the DOM does', () => {
    const source = open('https://example.test/live', {
      fetch: async () => new Response(null, { status: 204 }),
    });
    const constant = (value: number) => ({ value, writable: false, enumerable: true, configurable: false });
    for (const [name, value] of [
      ['CONNECTING', 0],
      ['OPEN', 1],
      ['CLOSED', 2],
    ] as const) {
      expect(Object.getOwnPropertyDescriptor(EventSource, name)).toEqual(constant(value));
      expect(Object.getOwnPropertyDescriptor(EventSource.prototype, name)).toEqual(constant(value));
      expect(Object.hasOwn(source, name)).toBe(false);
      expect(source[name]).toBe(value);
    }
    expect(Object.keys(source)).not.toContain('OPEN');
    expect(() => {
      (EventSource.prototype as { OPEN: number }).OPEN = 5;
    }).toThrow(TypeError);
    expect(EventSource.prototype.OPEN).toBe(1);
    expectTypeOf(source.OPEN).toEqualTypeOf<1>();
    expectTypeOf(EventSource.CLOSED).toEqualTypeOf<2>();
  });

  it('has no own enumerable keys: url, withCredentials and readyState are read-only accessors on the prototype', () => {
    const source = open('https://example.test/live', {
      withCredentials: true,
      fetch: async () => new Response(null, { status: 204 }),
    });
    expect(Object.keys(source)).toEqual([]);
    for (const name of ['url', 'withCredentials', 'readyState']) {
      const descriptor = Object.getOwnPropertyDescriptor(EventSource.prototype, name);
      expect(descriptor?.get, name).toBeTypeOf('function');
      expect(descriptor?.set, name).toBeUndefined();
      expect(() => {
        (source as unknown as Record<string, unknown>)[name] = 'changed';
      }).toThrow(TypeError);
    }
    expect([source.url, source.withCredentials]).toEqual(['https://example.test/live', true]);
  });

  it('maps withCredentials to fetch credentials and takes the connect() options (injected fetch)', async () => {
    const inits: RequestInit[] = [];
    const fetchStub: typeof fetch = async (_input, init) => {
      inits.push(init ?? {});
      return new Response('data: stub\n\n', { headers: { 'content-type': 'text/event-stream' } });
    };
    const clock = createFakeClock();
    const withCreds = open('https://example.test/live', { withCredentials: true, fetch: fetchStub, clock });
    const without = open('https://example.test/live', {
      fetch: fetchStub,
      clock,
      headers: { 'x-token': 't' },
    });
    const got: string[] = [];
    withCreds.onmessage = (event) => got.push(event.data);
    without.onmessage = (event) => got.push(event.data);
    await vi.waitFor(() => expect(got).toEqual(['stub', 'stub']), WAIT);
    expect(inits.map((init) => init.credentials)).toEqual(['include', 'same-origin']);
    expect(inits.map((init) => init.cache)).toEqual(['no-store', 'no-store']);
    expect(new Headers(inits[1]?.headers).get('x-token')).toBe('t');
    expect(new Headers(inits[1]?.headers).get('accept')).toBe('text/event-stream');
  });

  it('throws a SyntaxError DOMException for a URL it cannot parse', () => {
    expect(() => new EventSource('http://[not a url')).toThrow(
      expect.objectContaining({ name: 'SyntaxError' }),
    );
  });

  it('opens, then delivers message events to onmessage and named events to their listeners', async () => {
    const srv = await serve(() => ({
      chunks: ['id: 7\ndata: hello\n\nevent: update\ndata: {"n":1}\n\nevent: message\ndata: last\n\n'],
      end: 'hang',
    }));
    const source = open(srv.url);
    const log: string[] = [];
    source.onopen = () => log.push(`open:${source.readyState}`);
    source.onmessage = (event) => log.push(`message:${event.data}:${event.lastEventId}`);
    // Typed as the DOM types its own: a named event's listener gets a MessageEvent, no cast needed (tsc).
    source.addEventListener('update', (event) => {
      expectTypeOf(event).toEqualTypeOf<MessageEvent>();
      log.push(`update:${event.data}:${event.lastEventId}:${event.origin}`);
    });
    source.addEventListener('error', (event) => expectTypeOf(event).toEqualTypeOf<Event>());
    await vi.waitFor(() => expect(log).toHaveLength(4), WAIT);
    const origin = new URL(srv.url).origin;
    expect(log).toEqual(['open:1', 'message:hello:7', `update:{"n":1}:7:${origin}`, 'message:last:7']);
    expect(source.lastEventId).toBe('7');
    expect(source.onmessage).toBeTypeOf('function');
    source.onmessage = null;
    expect(source.onmessage).toBeNull();
  });

  it('throws the DOM TypeError for a missing URL or an init that is not an object, null or undefined', () => {
    const construct =
      (...args: unknown[]) =>
      () =>
        Reflect.construct(EventSource, args) as EventSource;
    const url = 'https://example.test/live';
    const fetchStub = () => new Promise<Response>(() => {});
    for (const args of [[], [url, 5], [url, 'yes'], [url, true], ['http://[bad', 5]])
      expect(construct(...args), JSON.stringify(args)).toThrow(
        new TypeError('EventSource: expected a URL and an object'),
      );
    // WebIDL reads the init dictionary before the URL is parsed: the getter's error, not a SyntaxError.
    const throwing = {
      get withCredentials(): boolean {
        throw new RangeError('from the getter');
      },
    };
    expect(construct('http://[bad', throwing)).toThrow(RangeError);
    expect(construct(Symbol('url'))).toThrow(TypeError);
    for (const init of [null, undefined, { fetch: fetchStub }, Object.assign(() => {}, { fetch: fetchStub })])
      sources.push(construct(url, init ?? { fetch: fetchStub })());
    expect(EventSource.length).toBe(1);
  });

  it('sends nothing for a source closed at once, as the DOM starts fetching only in a later task', async () => {
    let fetched = 0;
    const fetchStub = () => {
      fetched++;
      return new Promise<Response>(() => {});
    };
    open('https://example.test/live', { fetch: fetchStub }).close();
    const kept = open('https://example.test/live', { fetch: fetchStub });
    expect(fetched).toBe(0);
    await Promise.resolve();
    expect(fetched).toBe(1);
    expect(kept.readyState).toBe(EventSource.CONNECTING);
  });

  it('converts withCredentials as a WebIDL boolean', () => {
    const never: typeof fetch = () => new Promise<Response>(() => {});
    expect(
      open('https://example.test/live', { withCredentials: 1 as unknown as boolean, fetch: never })
        .withCredentials,
    ).toBe(true);
    expect(
      open('https://example.test/live', { withCredentials: '' as unknown as boolean, fetch: never })
        .withCredentials,
    ).toBe(false);
  });

  it('runs handler attributes where the DOM does: added when first set, kept in place when replaced, removed by null', () => {
    const source = open('https://example.test/live', { fetch: () => new Promise<Response>(() => {}) });
    const log: string[] = [];
    source.addEventListener('message', () => log.push('first listener'));
    source.onmessage = () => log.push('handler 1');
    source.addEventListener('message', () => log.push('last listener'));
    source.dispatchEvent(new MessageEvent('message'));
    // Replaced: the new handler runs where the old one did.
    source.onmessage = () => log.push('handler 2');
    source.dispatchEvent(new MessageEvent('message'));
    // Set to null, the handler's listener goes; set again, it comes back last.
    source.onmessage = null;
    source.onmessage = () => log.push('handler 3');
    source.dispatchEvent(new MessageEvent('message'));
    expect(log).toEqual([
      ...['first listener', 'handler 1', 'last listener'],
      ...['first listener', 'handler 2', 'last listener'],
      ...['first listener', 'last listener', 'handler 3'],
    ]);
    const calls: unknown[] = [];
    source.onerror = function (this: EventSource, event: Event) {
      calls.push(this, event.type);
    };
    source.dispatchEvent(new Event('error'));
    expect(calls).toEqual([source, 'error']);
    expect(source.onopen).toBeNull();
  });

  it('cancels an event whose handler returns false, and keeps any object as a handler, as the DOM does', () => {
    const source = open('https://example.test/live', { fetch: () => new Promise<Response>(() => {}) });
    source.onmessage = () => false;
    // An Event: Node 20's MessageEvent ignores `cancelable`.
    const cancelled = new Event('message', { cancelable: true });
    expect(source.dispatchEvent(cancelled)).toBe(false);
    expect(cancelled.defaultPrevented).toBe(true);
    source.onmessage = () => 0;
    expect(source.dispatchEvent(new Event('message', { cancelable: true }))).toBe(true);
    // WebIDL's [LegacyTreatNonObjectAsNull]: an object is kept (it throws when called), a primitive is null.
    const handler = { handleEvent() {} } as unknown as () => void;
    source.onerror = handler;
    expect(source.onerror).toBe(handler);
    source.onerror = 'alert(1)' as unknown as null;
    expect(source.onerror).toBeNull();
  });

  it('gives events the origin of the final URL after a redirect to another origin', async () => {
    const target = await startSseServer(() => ({ chunks: ['data: moved\n\n'], end: 'hang' }));
    try {
      const srv = await serve(() => ({ status: 307, headers: { location: target.url } }));
      const source = open(srv.url);
      const origins: string[] = [];
      source.onmessage = (event) => origins.push(event.origin);
      await vi.waitFor(() => expect(origins).toHaveLength(1), WAIT);
      expect(origins).toEqual([new URL(target.url).origin]);
      expect(new URL(target.url).origin).not.toBe(new URL(srv.url).origin);
      // The url attribute stays the one given.
      expect(source.url).toBe(srv.url);
    } finally {
      for (const source of sources.splice(0)) source.close();
      await target.close();
    }
  });

  it('dispatches MessageEvents through dispatchEvent, so removeEventListener works', async () => {
    const srv = await serve(() => ({
      chunks: ['event: tick\ndata: 1\n\n', 'event: tick\ndata: 2\n\n'],
      end: 'hang',
    }));
    const source = open(srv.url);
    const seen: unknown[] = [];
    const listener = (event: Event): void => {
      seen.push(event instanceof MessageEvent ? event.data : 'not a MessageEvent');
      source.removeEventListener('tick', listener);
    };
    source.addEventListener('tick', listener);
    let opened = false;
    source.addEventListener('open', () => {
      opened = true;
    });
    await vi.waitFor(() => expect(opened).toBe(true), WAIT);
    await vi.waitFor(() => expect(seen).toEqual(['1']), WAIT);
    source.dispatchEvent(new MessageEvent('tick', { data: 'manual' }));
    expect(seen).toEqual(['1']);
  });

  it('fires error with readyState CONNECTING before reconnecting, and sends Last-Event-ID', async () => {
    const srv = await serve((i) =>
      i === 0 ? { chunks: ['id: a1\ndata: x\n\n'] } : { chunks: ['data: y\n\n'], end: 'hang' },
    );
    const clock = createFakeClock();
    const source = open(srv.url, { clock });
    const log: string[] = [];
    source.onopen = () => log.push('open');
    source.onerror = () => log.push(`error:${source.readyState}`);
    source.onmessage = (event) => log.push(`message:${event.data}`);
    await vi.waitFor(() => expect(log).toEqual(['open', 'message:x', 'error:0']), WAIT);
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    await clock.advance(1000);
    await vi.waitFor(() => expect(log).toEqual(['open', 'message:x', 'error:0', 'open', 'message:y']), WAIT);
    expect(srv.requests[1]?.lastEventId).toBe('a1');
    expect(source.readyState).toBe(EventSource.OPEN);
  });

  for (const [name, reply] of [
    ['204', { status: 204 }],
    ['404', { status: 404 }],
    ['a wrong content type', { headers: { 'content-type': 'text/html' } }],
  ] as const) {
    it(`fails the connection on ${name}: error event, readyState CLOSED, no reconnection`, async () => {
      const srv = await serve(() => reply);
      const clock = createFakeClock();
      const errors: unknown[] = [];
      const source = open(srv.url, { clock, onError: (error) => errors.push(error) });
      const states: number[] = [];
      source.onerror = () => states.push(source.readyState);
      await vi.waitFor(() => expect(states).toEqual([EventSource.CLOSED]), WAIT);
      expect(errors).toHaveLength(1);
      await clock.runAll();
      expect(srv.requests).toHaveLength(1);
      expect(clock.pendingTimers).toBe(0);
    });
  }

  it('close() inside onopen or inside onerror stops everything: no event, no timer, no reconnection', async () => {
    const srv = await serve((i) => ({ chunks: ['data: a\n\n'], end: i === 0 ? 'hang' : 'close' }));
    const clock = createFakeClock();
    const log: string[] = [];
    const first = open(srv.url, { clock, idleTimeout: 10_000 });
    first.onopen = () => {
      log.push('open');
      first.close();
    };
    first.onmessage = () => log.push('message');
    first.onerror = () => log.push('error');
    await vi.waitFor(() => expect(log).toEqual(['open']), WAIT);
    await srv.closed(0);
    const second = open(srv.url, { clock });
    second.onmessage = (event) => log.push(`second ${event.data}`);
    second.onerror = () => {
      log.push(`second error ${second.readyState}`);
      second.close();
    };
    await vi.waitFor(() => expect(log).toEqual(['open', 'second a', 'second error 0']), WAIT);
    expect(second.readyState).toBe(EventSource.CLOSED);
    expect(clock.pendingTimers).toBe(0);
    await clock.runAll();
    expect(srv.requests).toHaveLength(2);
    expect(log).toEqual(['open', 'second a', 'second error 0']);
  });

  it('close() sets CLOSED, frees every timer and stops events', async () => {
    const srv = await serve(() => ({ chunks: ['data: one\n\n'], end: 'hang' }));
    const clock = createFakeClock();
    const source = open(srv.url, { clock, idleTimeout: 30_000 });
    const messages: string[] = [];
    source.onmessage = (event) => messages.push(event.data);
    let errors = 0;
    source.onerror = () => errors++;
    await vi.waitFor(() => expect(messages).toEqual(['one']), WAIT);
    expect(clock.pendingTimers).toBe(1);
    source.close();
    expect(source.readyState).toBe(EventSource.CLOSED);
    expect(clock.pendingTimers).toBe(0);
    srv.responses.get(0)?.write('data: two\n\n');
    await srv.closed(0);
    await clock.runAll();
    expect(messages).toEqual(['one']);
    expect(errors).toBe(0);
    expect(srv.requests).toHaveLength(1);
  });
});
