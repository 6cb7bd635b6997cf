/**
 * Review round 29: the public types as a user meets them, under the house tsconfig (strict, exactOptionalPropertyTypes).
 * Checked by `npx tsc -p tsconfig.json --noEmit` in the package (the same declarations tsup emits: isolatedDeclarations);
 * the runtime assertions only make sure what is typed here is accepted by the code too.
 */
import type { Clock } from '@integ/core';
import type { Backoff } from '@integ/retry';
import {
  type ByteParserOptions,
  type ConnectOptions,
  connect,
  createByteParser,
  createParser,
  createParserStream,
  type EncodeEventInit,
  EventSource,
  type EventSourceInit,
  encodeEvent,
  type Parser,
  type ParserOptions,
  type ParserStreamOptions,
  type ReconnectInfo,
  type SseConnection,
  type SseEvent,
} from '@integ/sse';
import { describe, expect, expectTypeOf, it } from 'vitest';

/** A fetch that answers 204 (the stream ends for good) and records nothing: enough to construct clients. */
const stop = async (): Promise<Response> => new Response(null, { status: 204 });

describe('EventSource where the DOM type is expected', () => {
  // The handler attributes took `this: EventSource` (ours, with #private and lastEventId) in a function-typed property,
  // compared contravariantly: the DOM's EventSource is no such `this`, so neither the class nor an instance could be
  // passed where lib.dom's EventSource (or `typeof EventSource`) is expected.
  it('the class is a typeof globalThis.EventSource, an instance a globalThis.EventSource', () => {
    const Source: typeof globalThis.EventSource = EventSource;
    expectTypeOf(EventSource).toExtend<typeof globalThis.EventSource>();
    expectTypeOf<EventSource>().toExtend<globalThis.EventSource>();
    const useDom = (source: globalThis.EventSource): number => source.readyState;
    const source = new Source('http://h/x', { withCredentials: false });
    expect(useDom(new EventSource('http://h/x', { fetch: stop }))).toBe(0);
    source.close();
  });

  it('types handlers and listeners as lib.dom does, `this` being ours (lastEventId)', () => {
    const source = new EventSource('http://h/x', { fetch: stop });
    source.onmessage = function (event) {
      expectTypeOf(event).toEqualTypeOf<MessageEvent>();
      expectTypeOf(this).toEqualTypeOf<EventSource>();
      expectTypeOf(this.lastEventId).toBeString();
    };
    source.onopen = function (event) {
      expectTypeOf(event).toEqualTypeOf<Event>();
      expectTypeOf(this.readyState).toEqualTypeOf<0 | 1 | 2>();
    };
    source.onerror = null;
    source.addEventListener('message', (event) => expectTypeOf(event.data).toBeAny());
    source.addEventListener('update', (event) => expectTypeOf(event).toEqualTypeOf<MessageEvent>());
    source.addEventListener('error', (event) => expectTypeOf(event).toEqualTypeOf<Event>());
    source.addEventListener('update', { handleEvent: (event) => expectTypeOf(event).toEqualTypeOf<Event>() });
    source.removeEventListener('update', () => {}, { capture: false });
    // A handler written for the DOM's EventSource (its `this`) is taken too.
    const domHandler = function (this: globalThis.EventSource, event: MessageEvent): void {
      void this.url;
      void event.data;
    };
    source.onmessage = domHandler;
    expect(source.onmessage).toBe(domHandler);
    source.close();
  });

  it("takes the DOM's EventSourceInit, and explicit undefined where the runtime takes it", () => {
    const init: globalThis.EventSourceInit = { withCredentials: true };
    const ours: EventSourceInit = { withCredentials: undefined, fetch: undefined, idleTimeout: undefined };
    expectTypeOf(init).toExtend<EventSourceInit>();
    for (const options of [init, ours, undefined]) {
      const source = new EventSource('http://h/x', options);
      expect(source.readyState).toBe(EventSource.CONNECTING);
      source.close();
    }
  });
});

describe('connect()', () => {
  it('returns an async iterable of SseEvent with close() and lastEventId', async () => {
    const stream = connect('http://h/x', { fetch: stop });
    expectTypeOf(stream).toEqualTypeOf<SseConnection>();
    expectTypeOf(stream).toExtend<AsyncIterable<SseEvent>>();
    expectTypeOf(stream.close).toEqualTypeOf<() => void>();
    expectTypeOf(stream.lastEventId).toBeString();
    const events: SseEvent[] = [];
    await expect(
      (async () => {
        for await (const event of stream) {
          expectTypeOf(event).toEqualTypeOf<SseEvent>();
          events.push(event);
        }
      })(),
    ).rejects.toMatchObject({ code: 'ERR_SSE_STATUS' });
    expect(events).toEqual([]);
  });

  it('takes explicit undefined for every option and for the options object (exactOptionalPropertyTypes)', () => {
    const options: Required<{ [K in keyof ConnectOptions]: undefined }> = {
      fetch: undefined,
      headers: undefined,
      method: undefined,
      body: undefined,
      credentials: undefined,
      signal: undefined,
      lastEventId: undefined,
      backoff: undefined,
      maxDelay: undefined,
      idleTimeout: undefined,
      maxEventSize: undefined,
      clock: undefined,
      random: undefined,
      onOpen: undefined,
      onReconnect: undefined,
      onError: undefined,
    };
    expectTypeOf(options).toExtend<ConnectOptions>();
    const controller = new AbortController();
    connect('http://h/x', { ...options, signal: controller.signal });
    connect(new URL('http://h/x'), undefined).close();
    controller.abort();
  });

  it('types its hooks and the options that come from core and retry', () => {
    expectTypeOf<ConnectOptions['onReconnect']>().toEqualTypeOf<
      ((info: ReconnectInfo) => void) | undefined
    >();
    expectTypeOf<ReconnectInfo>().toEqualTypeOf<{
      readonly attempt: number;
      readonly delay: number;
      readonly error: unknown;
      readonly lastEventId: string;
    }>();
    expectTypeOf<NonNullable<ConnectOptions['onOpen']>>()
      .parameter(0)
      .toEqualTypeOf<{ readonly response: Response }>();
    expectTypeOf<NonNullable<ConnectOptions['clock']>>().toEqualTypeOf<Clock>();
    expectTypeOf<NonNullable<ConnectOptions['backoff']>>().toEqualTypeOf<Backoff>();
    // An async token function, and an EventSourceInit built from ConnectOptions minus what the DOM names otherwise.
    const headers: ConnectOptions['headers'] = async () => ({ authorization: 'Bearer t' });
    expectTypeOf<EventSourceInit>().not.toHaveProperty('signal');
    expectTypeOf<EventSourceInit>().not.toHaveProperty('credentials');
    expectTypeOf<EventSourceInit['headers']>().toEqualTypeOf<ConnectOptions['headers']>();
    expect(typeof headers).toBe('function');
  });

  it('takes a typed fetch wrapper, a mock with fewer parameters, and the platform fetch', () => {
    // The client calls fetch(url: string, init: RequestInit): a wrapper typed for exactly that is a fetch to it.
    const wrapper = async (url: string, init: RequestInit): Promise<Response> => globalThis.fetch(url, init);
    // The README's Cloudflare Workers FAQ: a fetch that drops the `cache` option.
    const noCache: ConnectOptions['fetch'] = (input, { cache, ...init } = {}) => fetch(input, init);
    const options: ConnectOptions[] = [
      { fetch: wrapper },
      { fetch: async () => new Response() },
      { fetch },
      { fetch: noCache },
    ];
    expect(options).toHaveLength(4);
  });
});

describe('createParser and the stream forms', () => {
  it('type every callback, and take explicit undefined for the optional ones', () => {
    const seen: unknown[] = [];
    const options: ParserOptions = {
      onEvent: (event) => {
        expectTypeOf(event).toEqualTypeOf<SseEvent>();
        seen.push(event);
      },
      onRetry: (ms) => {
        expectTypeOf(ms).toBeNumber();
        seen.push(ms);
      },
      onComment: (comment) => {
        expectTypeOf(comment).toBeString();
        seen.push(comment);
      },
      lastEventId: undefined,
      maxEventSize: undefined,
    };
    const parser = createParser(options);
    expectTypeOf(parser).toEqualTypeOf<Parser>();
    expectTypeOf(parser.feed).parameter(0).toBeString();
    parser.feed(': c\nretry: 5\ndata: x\n\n');
    expect(seen).toEqual(['c', 5, { type: 'message', data: 'x', lastEventId: '' }]);
    // @ts-expect-error: onEvent is required
    expect(() => createParser({})).toThrow();
  });

  it('type the byte parser, the TransformStreams and the encoder', () => {
    const byte: ByteParserOptions = { onEvent: () => {}, onRetry: undefined };
    expectTypeOf(createByteParser(byte).feed).parameter(0).toEqualTypeOf<Uint8Array>();
    const streamOptions: ParserStreamOptions = { onComment: undefined, maxEventSize: undefined };
    expectTypeOf(createParserStream(streamOptions)).toEqualTypeOf<TransformStream<string, SseEvent>>();
    expectTypeOf(createParserStream(undefined)).toEqualTypeOf<TransformStream<string, SseEvent>>();
    const init: EncodeEventInit = {
      data: 'x',
      event: undefined,
      id: undefined,
      retry: undefined,
      comment: undefined,
    };
    expect(encodeEvent(init)).toBe('data: x\n\n');
  });
});
