/**
 * Review round 40: what Stryker's surviving mutants of src/etcd.ts changed without a test noticing. Each test was
 * seen failing on the mutants it names (applied by hand) and passing on the code as it is. etcd is a fake gateway
 * (a fetch answering the range with what a test gives and keeping each watch stream for the test to write to);
 * time is a fake clock.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { type Clock, InvalidArgumentError, type Logger, silentLogger } from '@integ/core';
import {
  createRegistry,
  type Endpoint,
  envVariableFor,
  fromEnv,
  type Resolver,
  type Snapshot,
  type Source,
  staticSource,
} from '@integ/discovery';
import { etcd, prefixRangeEnd } from '@integ/discovery/etcd';
import { type HttpCheckOptions, httpCheck, tcpCheck } from '@integ/discovery/health';
import { createFakeClock, drain, settledValue as settled } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { b64 } from './internal/test-etcd-fetch.js';
import { listeners, recordingLogger, refusal } from './internal/test-servers.js';

const encoder = new TextEncoder();

/** A request the fake gateway saw. */
interface Seen {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

/**
 * A fake etcd JSON gateway: the n-th range (from 0) is answered with `range(n)` (a body to send as JSON, or a
 * Response), every watch with a stream kept in `watches` (`send` writes to the latest; the stream stays open).
 */
function gateway(
  range: (n: number) => unknown = () => ({
    header: { revision: '1' },
    kvs: [kv('/s/a', 'http://10.0.0.1:80')],
  }),
) {
  const seen: Seen[] = [];
  const signals: (AbortSignal | undefined)[] = [];
  const watches: ReadableStreamDefaultController<Uint8Array>[] = [];
  let ranges = 0;
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    signals.push(init?.signal ?? undefined);
    seen.push({
      url,
      headers: { ...(init?.headers as Record<string, string>) },
      body: JSON.parse(String(init?.body)),
    });
    if (url.endsWith('/v3/kv/range')) {
      const answer = range(ranges++);
      if (answer instanceof Error) throw answer;
      return answer instanceof Response ? answer : new Response(JSON.stringify(answer));
    }
    return new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          watches.push(controller);
        },
      }),
    );
  }) as typeof globalThis.fetch;
  return {
    fetch,
    seen,
    signals,
    watches,
    ranges: () => ranges,
    send(message: unknown): void {
      const text = typeof message === 'string' ? message : `${JSON.stringify(message)}\n`;
      watches.at(-1)?.enqueue(encoder.encode(text));
    },
  };
}

/** One key-value of a range answer or watch event, base64 as the gateway sends it. */
const kv = (key: string, value?: string): { key: string; value?: string } =>
  value === undefined ? { key: b64(key) } : { key: b64(key), value: b64(value) };

/** The start_revision of each watch the gateway saw. */
const watchedFrom = (seen: readonly Seen[]): string[] =>
  seen
    .filter((request) => request.url.endsWith('/v3/watch'))
    .map(
      (request) =>
        (request.body as { create_request: { start_revision: string } }).create_request.start_revision,
    );

/** Opens `source` as the registry would and returns its resolver. */
function open(
  source: Source,
  { clock = createFakeClock(), logger = silentLogger }: { clock?: Clock; logger?: Logger } = {},
): Resolver {
  return (source.open as NonNullable<Source['open']>)({
    service: 'api',
    clock,
    random: () => 0.25,
    logger,
    signal: new AbortController().signal,
  });
}

const lookup = (resolver: Resolver): Promise<Snapshot> => resolver.resolve(new AbortController().signal);
const urls = (s: Snapshot): string[] => s.endpoints.map((e) => e.url);
const failure = (promise: Promise<unknown>): Promise<Error> =>
  promise.then(
    () => {
      throw new Error('resolved');
    },
    (error: Error) => error,
  );

describe('etcd options (review 40, Stryker survivors of etcd.ts)', () => {
  it('refuses a prefix that is no non-empty string, and an options value that is null, naming the prefix', () => {
    for (const options of [null, 42, { prefix: '' }, { prefix: 42 }, {}])
      expect(refusal(() => etcd(options as never)).argument).toBe('etcd prefix');
    expect(refusal(() => etcd('')).message).toBe(
      "Invalid etcd prefix: expected a key prefix such as '/services/api/', received a string",
    );
  });

  it('refuses endpoints that are no non-empty array, and names a bad entry by its index', () => {
    for (const endpoints of [[], 'http://e:2379'])
      expect(refusal(() => etcd('/s/', { endpoints: endpoints as never })).message).toMatch(
        /^Invalid etcd endpoints: expected a non-empty array of URLs, received /,
      );
    expect(() => etcd('/s/', { endpoints: ['http://e:2379', 'not a url'] })).toThrow(/etcd endpoints\[1\]/);
  });

  it('names the token and maxResponseBytes options when it refuses them', () => {
    expect(refusal(() => etcd('/s/', { token: 'a\nb' })).argument).toBe('etcd token');
    expect(refusal(() => etcd('/s/', { maxResponseBytes: 1 })).argument).toBe('etcd maxResponseBytes');
  });

  it('names the range a timeout and resyncInterval take when it refuses them', () => {
    expect(refusal(() => etcd('/s/', { timeout: 0 })).message).toBe(
      'Invalid etcd timeout: expected ms in (0, 2147483647], received 0',
    );
    expect(refusal(() => etcd('/s/', { resyncInterval: 0 })).message).toBe(
      'Invalid etcd resyncInterval: expected ms in (0, 2147483647], received 0',
    );
  });

  it('refuses a function for options even when it carries a prefix', () => {
    expect(refusal(() => etcd(Object.assign(() => {}, { prefix: '/s/' }) as never)).argument).toBe(
      'etcd prefix',
    );
  });

  it("is of kind 'etcd'", () => {
    expect(etcd('/s/').kind).toBe('etcd');
  });

  it('describes itself by prefix and the host of each endpoint, comma-separated', () => {
    expect(etcd('/s/').description).toBe('etcd prefix /s/ at 127.0.0.1:2379');
    expect(etcd('/s/', { endpoints: ['http://a:1/', 'https://b'] }).description).toBe(
      'etcd prefix /s/ at a:1, b',
    );
  });
});

describe('etcd values (review 40)', () => {
  it('reads JSON with weight and priority (numbers only), host:port with the protocol option, and a URL of any scheme', async () => {
    const g = gateway(() => ({
      header: { revision: '1' },
      kvs: [
        kv('/s/a', ' \t{"url":"http://10.0.0.1:80","weight":2,"priority":1}\n'),
        kv('/s/b', '{"url":"http://10.0.0.2:80","weight":"3","priority":"1"}'),
        kv('/s/c', '10.0.0.3:80'),
        kv('/s/d', 'GRPC+TLS.v2-x://10.0.0.4:80'),
        kv('/s/e', '10.0.0.5:80/?next=http://x'),
      ],
    }));
    const snapshot = await lookup(open(etcd('/s/', { protocol: 'https', fetch: g.fetch })));
    expect(snapshot).toStrictEqual({
      endpoints: [
        { url: 'http://10.0.0.1:80', weight: 2, priority: 1, meta: { 'etcd.key': '/s/a' } },
        { url: 'http://10.0.0.2:80', meta: { 'etcd.key': '/s/b' } },
        { url: 'https://10.0.0.3:80', meta: { 'etcd.key': '/s/c' } },
        { url: 'GRPC+TLS.v2-x://10.0.0.4:80', meta: { 'etcd.key': '/s/d' } },
        { url: 'https://10.0.0.5:80/?next=http://x', meta: { 'etcd.key': '/s/e' } },
      ],
      ttlMs: 0,
    });
  });

  it('drops a key whose new value is no URL, and a deleted key (etcd sends its key alone), counting only the bad value', async () => {
    const clock = createFakeClock();
    const { logger, lines } = recordingLogger();
    const g = gateway(() => ({
      header: { revision: '1' },
      kvs: [kv('/s/a', 'http://10.0.0.1:80'), kv('/s/b', 'http://10.0.0.2:80'), kv('/s/c', 'not a url')],
    }));
    const resolver = open(etcd('/s/', { fetch: g.fetch }), { clock, logger });
    expect(urls(await lookup(resolver))).toEqual(['http://10.0.0.1:80', 'http://10.0.0.2:80']);
    await drain();
    expect(g.watches).toHaveLength(1);
    const next = lookup(resolver);
    g.send({
      result: {
        events: [
          { type: 'PUT', kv: kv('/s/a', 'not a url either') },
          { type: 'DELETE', kv: kv('/s/b') },
        ],
      },
    });
    expect(urls(await next)).toEqual([]);
    // One warn per answer, each with its own count: 1 for the range, 1 for the watch message.
    expect(lines.map(([fields, message]) => [(fields as { skipped: number }).skipped, message])).toEqual([
      [1, 'etcd: skipped keys or values that are not base64 or not a URL'],
      [1, 'etcd: skipped keys or values that are not base64 or not a URL'],
    ]);
    expect(lines[0]?.[0]).toEqual({ service: 'api', source: 'etcd', skipped: 1 });
  });
});

describe('etcd requests (review 40)', () => {
  it('posts the range and the watch as JSON, with the token as Authorization when there is one', async () => {
    for (const token of ['tok-1', undefined]) {
      const g = gateway(() => ({ header: { revision: '41' }, kvs: [kv('/s/a', 'http://10.0.0.1:80')] }));
      await lookup(
        open(etcd('/s/', { endpoints: ['http://e:2379/'], fetch: g.fetch, ...(token ? { token } : {}) })),
      );
      await drain();
      const headers = token
        ? { 'content-type': 'application/json', authorization: token }
        : { 'content-type': 'application/json' };
      const key = { key: b64('/s/'), range_end: b64('/s0') };
      expect(g.seen).toStrictEqual([
        { url: 'http://e:2379/v3/kv/range', headers, body: key },
        {
          url: 'http://e:2379/v3/watch',
          headers,
          body: { create_request: { ...key, start_revision: '42' } },
        },
      ]);
    }
  });
});

describe('etcd range answers (review 40)', () => {
  it('fails an answer that is no range answer, and keys none of which holds a URL', async () => {
    for (const body of [null, [], 'x', 5, { kvs: {} }, { kvs: 'a' }]) {
      const g = gateway(() => body);
      expect((await failure(lookup(open(etcd('/s/', { fetch: g.fetch }))))).message).toBe(
        'etcd: range /s/: not a range answer',
      );
      expect(g.seen).toHaveLength(1);
    }
    const g = gateway(() => ({ kvs: [kv('/s/a', 'not a url')] }));
    expect((await failure(lookup(open(etcd('/s/', { fetch: g.fetch }))))).message).toBe(
      'etcd: range /s/: no key holds a valid URL',
    );
  });

  it('takes an answer without keys (kvs left out, null or empty) as no endpoints, and no revision as 0', async () => {
    for (const body of [{}, { kvs: null }, { kvs: [] }]) {
      const g = gateway(() => body);
      expect(await lookup(open(etcd('/s/', { fetch: g.fetch })))).toStrictEqual({ endpoints: [], ttlMs: 0 });
      await drain();
      expect(watchedFrom(g.seen)).toEqual(['1']);
    }
  });
});

/** A fetch for etcd endpoints a (refusing every request) and b (a gateway answering one key); `b` is b's gateway. */
function halfDown() {
  const b = gateway();
  const seen: string[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    seen.push(String(input));
    if (String(input).startsWith('http://a:1/')) throw new TypeError('fetch failed');
    return b.fetch(input, init);
  }) as typeof globalThis.fetch;
  return { fetch, seen, b };
}

describe('etcd endpoints, tried in order (review 40)', () => {
  it('tries each endpoint once, and reads and watches again at the one that answered last', async () => {
    const { fetch, seen, b } = halfDown();
    const resolver = open(etcd('/s/', { endpoints: ['http://a:1', 'http://b:2'], fetch }));
    expect(urls(await lookup(resolver))).toEqual(['http://10.0.0.1:80']);
    await drain();
    b.watches[0]?.close(); // the watch stream ends: a failure, then a full read
    expect((await failure(lookup(resolver))).message).toBe('etcd: watch stream ended');
    expect(urls(await lookup(resolver))).toEqual(['http://10.0.0.1:80']);
    await drain();
    expect(seen).toEqual([
      'http://a:1/v3/kv/range',
      'http://b:2/v3/kv/range',
      'http://b:2/v3/watch',
      'http://b:2/v3/kv/range',
      'http://b:2/v3/watch',
    ]);
  });

  it('fails after one try of each endpoint with the last failure, wrapped, its text masked', async () => {
    const seen: string[] = [];
    const fetch = (async (input: string | URL | Request) => {
      seen.push(String(input));
      throw new TypeError(`refused, token s3cret-tok at ${String(input)}`);
    }) as typeof globalThis.fetch;
    const error = await failure(
      lookup(open(etcd('/s/', { endpoints: ['http://a:1', 'http://c:3'], token: 's3cret-tok', fetch }))),
    );
    expect(seen).toEqual(['http://a:1/v3/kv/range', 'http://c:3/v3/kv/range']);
    expect(error).toMatchObject({
      code: 'ERR_DISCOVERY_SOURCE',
      message: 'etcd: range /s/: refused, token *** at http://c:3/v3/kv/range',
      cause: { message: 'refused, token s3cret-tok at http://c:3/v3/kv/range' },
    });
  });

  it('stops at an aborted lookup with its reason, trying no other endpoint', async () => {
    const seen: string[] = [];
    const lookupSignal = new AbortController();
    const reason = new Error('closing');
    const fetch = (async (input: string | URL | Request) => {
      seen.push(String(input));
      lookupSignal.abort(reason);
      throw new TypeError('fetch failed');
    }) as typeof globalThis.fetch;
    const resolver = open(etcd('/s/', { endpoints: ['http://a:1', 'http://c:3'], fetch }));
    expect(await failure(resolver.resolve(lookupSignal.signal))).toBe(reason);
    expect(seen).toEqual(['http://a:1/v3/kv/range']);
  });

  it('gives up on a range after the timeout option, on the clock, and clears its timer when answered', async () => {
    const clock = createFakeClock();
    let answer = false;
    const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      if (answer) return gateway().fetch(input, init);
      return new Promise<Response>(() => {}); // never answers, nor hears its signal
    }) as typeof globalThis.fetch;
    const resolver = open(etcd('/s/', { timeout: 100, fetch }), { clock });
    const outcome = failure(lookup(resolver));
    await clock.advance(99);
    await drain();
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(1);
    expect((await outcome).message).toBe('etcd: range timed out after 100 ms');
    expect(clock.pendingTimers).toBe(0);
    answer = true;
    await lookup(resolver);
    expect(clock.pendingTimers).toBe(0);
  });
});

/** A source on a fake gateway, read once with its watch open: the resolver, its clock and the gateway. */
async function watching(options: { resyncInterval?: number; maxResponseBytes?: number } = {}) {
  const clock = createFakeClock();
  const g = gateway((n) => ({
    header: { revision: String(10 * (n + 1)) },
    kvs: [kv('/s/a', `http://10.0.0.${n + 1}:80`)],
  }));
  const resolver = open(etcd('/s/', { fetch: g.fetch, ...options }), { clock });
  expect(urls(await lookup(resolver))).toEqual(['http://10.0.0.1:80']);
  await drain();
  expect(g.watches).toHaveLength(1);
  return { clock, g, resolver };
}

const put = (key: string, value: string) => ({ result: { events: [{ type: 'PUT', kv: kv(key, value) }] } });

describe('etcd watch (review 40)', () => {
  it('waits for a message with events: one without (created, a progress notice) or blank lines wake nothing', async () => {
    const { g, resolver } = await watching();
    const next = lookup(resolver);
    g.send({ result: { created: true } });
    g.send({ result: { events: [] } });
    g.send('\n \r\n\n');
    g.send({ result: { compact_revision: '0', events: [] } });
    await drain();
    expect(await settled(next)).toBe('pending');
    g.send(put('/s/b', 'http://10.0.0.9:80'));
    expect(urls(await next)).toEqual(['http://10.0.0.1:80', 'http://10.0.0.9:80']);
    expect(g.ranges()).toBe(1);
  });

  it('reads again from scratch on an error, a cancel or a compaction, and watches from the new revision', async () => {
    for (const message of [
      { error: { message: 'etcdserver: mvcc: required revision has been compacted' } },
      { result: { canceled: true } },
      { result: { compact_revision: '7' } },
    ]) {
      const { g, resolver } = await watching();
      const next = lookup(resolver);
      g.send(message);
      expect(urls(await next)).toEqual(['http://10.0.0.2:80']);
      await drain();
      expect(g.ranges()).toBe(2);
      expect(g.watches).toHaveLength(2);
      expect(watchedFrom(g.seen)).toEqual(['11', '21']);
    }
  });

  it('reads again after resyncInterval on the clock, not before', async () => {
    const { clock, g, resolver } = await watching({ resyncInterval: 1000 });
    const next = lookup(resolver);
    await clock.advance(999);
    expect(await settled(next)).toBe('pending');
    expect(g.ranges()).toBe(1);
    await clock.advance(1);
    expect(urls(await next)).toEqual(['http://10.0.0.2:80']);
    expect(g.ranges()).toBe(2);
  });

  it('stops waiting at an aborted lookup, with its reason, leaving no timer', async () => {
    const { clock, g, resolver } = await watching();
    const controller = new AbortController();
    const reason = new Error('registry closed');
    const next = resolver.resolve(controller.signal);
    await drain();
    expect(clock.pendingTimers).toBe(1);
    controller.abort(reason);
    expect(await failure(next)).toBe(reason);
    expect(clock.pendingTimers).toBe(0);
    expect(listeners(controller.signal)).toBe(0);
    // A change after it wakes the next lookup only.
    const after = lookup(resolver);
    g.send(put('/s/b', 'http://10.0.0.9:80'));
    expect(urls(await after)).toHaveLength(2);
  });

  it('close() before any lookup, or with none waiting, is quiet', async () => {
    expect(() => open(etcd('/s/', { fetch: gateway().fetch })).close?.()).not.toThrow();
    const { resolver } = await watching();
    expect(() => resolver.close?.()).not.toThrow();
  });

  it('close() ends the watch and lets a waiting lookup return what it has', async () => {
    const { clock, g, resolver } = await watching();
    const next = lookup(resolver);
    await drain();
    resolver.close?.();
    expect(urls(await next)).toEqual(['http://10.0.0.1:80']);
    expect(clock.pendingTimers).toBe(0);
    expect(g.signals.map((signal) => signal?.aborted)).toEqual([false, true]); // the range's, the watch's
  });

  it('reports a watch answered with no body, or with a message that is no JSON, on the next lookup', async () => {
    const { g, resolver } = await watching();
    const next = lookup(resolver);
    g.send('{"result": nope}\n');
    const error = await failure(next);
    expect(error.message).toMatch(/^etcd: watch failed: Unexpected token/);
    expect(error.cause).toBeInstanceOf(SyntaxError);
    // The failure is reported once: the lookup after it reads again.
    expect(urls(await lookup(resolver))).toEqual(['http://10.0.0.2:80']);
    const fetch = (async (input: string | URL | Request, init?: RequestInit) =>
      String(input).endsWith('/v3/watch')
        ? new Response(null, { status: 200 })
        : g.fetch(input, init)) as typeof globalThis.fetch;
    const bodiless = open(etcd('/s/', { fetch }));
    await lookup(bodiless);
    expect((await failure(lookup(bodiless))).message).toBe('etcd: watch: HTTP 200');
  });

  it('takes a message of maxResponseBytes characters, ended or still being read, and fails one longer', async () => {
    const padding = (n: number) => {
      const message = JSON.stringify(put('/s/b', 'http://10.0.0.9:80'));
      return `${message.slice(0, -1)},"pad":"${'x'.repeat(n - message.length - 9)}"}`;
    };
    expect(padding(1024)).toHaveLength(1024);
    for (const [length, newline] of [
      [1024, true],
      [1024, false],
    ] as const) {
      const { g, resolver } = await watching({ maxResponseBytes: 1024 });
      const next = lookup(resolver);
      const text = padding(length);
      // Sent as two chunks: the first is held whole in the buffer (1023 characters), the second ends it.
      g.send(text.slice(0, -1));
      g.send(text.slice(-1) + (newline ? '\n' : ''));
      expect(urls(await next)).toHaveLength(2);
    }
    const { g, resolver } = await watching({ maxResponseBytes: 1024 });
    const next = lookup(resolver);
    g.send(padding(1025).slice(0, -1)); // 1024 held: still fine
    await drain();
    expect(await settled(next)).toBe('pending');
    g.send('}');
    const tooLarge =
      'etcd: watch /s/: the answer is larger than 1024 bytes (raise maxResponseBytes if that is expected)';
    expect((await failure(next)).message).toBe(tooLarge);
    // And one still being read, 1025 characters with no end yet.
    const held = await watching({ maxResponseBytes: 1024 });
    const waiting = lookup(held.resolver);
    held.g.send(padding(1026).slice(0, -1));
    expect((await failure(waiting)).message).toBe(tooLarge);
  });

  it('leaves no abort listener on a lookup a change woke', async () => {
    const { g, resolver } = await watching();
    const controller = new AbortController();
    const next = resolver.resolve(controller.signal);
    await drain();
    expect(listeners(controller.signal)).toBe(1);
    g.send(put('/s/b', 'http://10.0.0.9:80'));
    await next;
    expect(listeners(controller.signal)).toBe(0);
  });

  it('counts an event that is null as skipped and applies the others of its message', async () => {
    const { logger, lines } = recordingLogger();
    const clock = createFakeClock();
    const g = gateway();
    const resolver = open(etcd('/s/', { fetch: g.fetch }), { clock, logger });
    await lookup(resolver);
    await drain();
    const next = lookup(resolver);
    g.send({ result: { events: [null, { type: 'PUT', kv: kv('/s/b', 'http://10.0.0.9:80') }] } });
    expect(urls(await next)).toEqual(['http://10.0.0.1:80', 'http://10.0.0.9:80']);
    expect(lines.map(([fields]) => (fields as { skipped: number }).skipped)).toEqual([1]);
  });

  it('drops the connection of a watch at once when it ends, fails, or is cancelled', async () => {
    for (const end of ['ends', 'fails', 'is cancelled'] as const) {
      const { g } = await watching();
      expect(g.signals[1]?.aborted).toBe(false);
      if (end === 'ends') g.watches[0]?.close();
      else g.send(end === 'fails' ? '{"result": nope}\n' : { result: { canceled: true } });
      await drain();
      expect(g.signals[1]?.aborted).toBe(true);
    }
  });

  it('ignores a DELETE event without its key-value, counting nothing', async () => {
    const { logger, lines } = recordingLogger();
    const g = gateway();
    const resolver = open(etcd('/s/', { fetch: g.fetch }), { logger });
    await lookup(resolver);
    await drain();
    const next = lookup(resolver);
    g.send({
      result: {
        events: [
          { type: 'DELETE', kv: null },
          { type: 'DELETE' },
          { type: 'PUT', kv: kv('/s/b', 'http://10.0.0.9:80') },
        ],
      },
    });
    expect(urls(await next)).toEqual(['http://10.0.0.1:80', 'http://10.0.0.9:80']);
    expect(lines).toEqual([]);
  });
});

describe('etcd key-values of a range answer (review 40)', () => {
  it('counts a key that is not base64 once, and reads a key left out (proto3 JSON omits empty bytes) as the empty key', async () => {
    const { logger, lines } = recordingLogger();
    const g = gateway(() => ({
      kvs: [{ key: '%%%', value: b64('http://10.0.0.1:80') }, { value: b64('http://10.0.0.2:80') }],
    }));
    expect((await lookup(open(etcd('/s/', { fetch: g.fetch }), { logger }))).endpoints).toStrictEqual([
      { url: 'http://10.0.0.2:80', meta: { 'etcd.key': '' } },
    ]);
    expect(lines.map(([fields]) => (fields as { skipped: number }).skipped)).toEqual([1]);
  });
});

describe('prefixRangeEnd (review 40)', () => {
  it("is the prefix with its last UTF-8 byte incremented, and [0] (every key) for ''", () => {
    expect([...prefixRangeEnd('/s/')]).toEqual([0x2f, 0x73, 0x30]);
    expect([...prefixRangeEnd('/é')]).toEqual([0x2f, 0xc3, 0xaa]);
    expect([...prefixRangeEnd('/\u{10ffff}')]).toEqual([0x2f, 0xf4, 0x8f, 0xbf, 0xc0]);
    expect([...prefixRangeEnd('')]).toEqual([0]);
  });

  it("equals etcd's GetPrefixRangeEnd (trailing 0xff bytes dropped, then the last byte + 1) for any string (fast-check)", () => {
    // clientv3's getPrefix, as etcd.ts had it before review 40 dropped the loop (UTF-8 has no 0xff byte).
    const getPrefixRangeEnd = (prefix: string): number[] => {
      const bytes = [...new TextEncoder().encode(prefix)];
      for (let i = bytes.length - 1; i >= 0; i--)
        if ((bytes[i] as number) < 0xff) return [...bytes.slice(0, i), (bytes[i] as number) + 1];
      return [0];
    };
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (prefix) => {
        expect([...prefixRangeEnd(prefix)]).toEqual(getPrefixRangeEnd(prefix));
      }),
      { seed: 40, numRuns: 2000 },
    );
  });
});

/** An endpoint of service `api` at `url`. */
const endpointAt = (url: string): Endpoint => ({ url, service: 'api', weight: 1, priority: 0 });

/** What `check` answers for `endpoint` when the fetch answers `answer`, and the requests' headers. */
async function checked(
  options: Omit<HttpCheckOptions, 'fetch'>,
  answer: () => Response,
  url = 'http://10.0.0.1:80',
): Promise<{ healthy: boolean | undefined; headers: Record<string, string>[] }> {
  const headers: Record<string, string>[] = [];
  const fetch = (async (_: string | URL | Request, init?: RequestInit) => {
    headers.push({ ...(init?.headers as Record<string, string>) });
    return answer();
  }) as typeof globalThis.fetch;
  const healthy = await httpCheck({ ...options, fetch })(endpointAt(url), {
    signal: new AbortController().signal,
  });
  return { healthy, headers };
}

describe('httpCheck (review 40, Stryker survivors of health.ts)', () => {
  it('refuses a path that is no string, even one that reads as a path, naming the option and what it takes', () => {
    expect(refusal(() => httpCheck({ path: ['/health'] as never })).message).toBe(
      "Invalid httpCheck path: expected a path starting with one '/', received an object",
    );
  });

  it('counts 200-299 as healthy by default, not a 3xx (redirects are not followed) nor a network error (status 0)', async () => {
    const status = async (answer: () => Response) => (await checked({}, answer)).healthy;
    expect(await status(() => new Response(null, { status: 200 }))).toBe(true);
    expect(await status(() => new Response(null, { status: 299 }))).toBe(true);
    expect(await status(() => new Response(null, { status: 300 }))).toBe(false);
    expect(await status(() => Response.error())).toBe(false);
  });

  it('sends no Authorization to an endpoint without credentials', async () => {
    const { headers } = await checked({ headers: { host: 'api' } }, () => new Response(null));
    expect(headers).toEqual([{ host: 'api' }]);
  });
});

describe('etcd watch lines (review 40)', () => {
  it('ends a message at a newline too: a line that is no object (5, a string) is read alone and ignored', async () => {
    const { g, resolver } = await watching();
    const next = lookup(resolver);
    g.send('5\n"progress"\n');
    g.send(put('/s/b', 'http://10.0.0.9:80'));
    expect(urls(await next)).toEqual(['http://10.0.0.1:80', 'http://10.0.0.9:80']);
  });
});

/** The error `make()` throws. */
function thrown(
  make: () => unknown,
): Error & { code?: string; argument?: string; setting?: string; variable?: string } {
  try {
    make();
  } catch (error) {
    return error as Error;
  }
  throw new Error('not thrown');
}

describe('staticSource (review 40, static.ts)', () => {
  it('names itself staticSource, or the setting given, and each entry by its index', () => {
    expect(thrown(() => staticSource('http://a:1' as never)).message).toBe(
      'Invalid staticSource: expected an array of URLs, received a string',
    );
    expect(thrown(() => staticSource(5 as never, 'services.api.urls')).message).toBe(
      'Invalid services.api.urls: expected an array of URLs, received 5',
    );
    expect(thrown(() => staticSource(['http://a:1', 'nope'])).message).toBe(
      'Invalid URL in staticSource[1]: it does not parse as an absolute URL. Expected an absolute URL such as http://host:8001',
    );
    expect(thrown(() => staticSource([{ url: 'nope' }])).message).toMatch(
      /^Invalid URL in staticSource\[0\]\.url: /,
    );
    for (const entry of [null, 5])
      expect(thrown(() => staticSource([entry as never])).message).toBe(
        'Invalid URL in staticSource[0]: expected a URL or { url }. Expected an absolute URL such as http://host:8001',
      );
  });

  it('takes a weight >= 0 and any finite priority, and refuses a negative, NaN or infinite weight and a NaN priority', () => {
    const source = staticSource([
      { url: 'http://a:1', weight: 0, priority: -1 },
      { url: 'http://b:1', weight: 2.5 },
    ]);
    expect(source).toStrictEqual({
      kind: 'static',
      description: '2 static endpoint(s)',
      endpoints: [
        { url: 'http://a:1', weight: 0, priority: -1 },
        { url: 'http://b:1', weight: 2.5 },
      ],
    });
    for (const weight of [-1, Number.NaN, Number.POSITIVE_INFINITY, '2'])
      expect(thrown(() => staticSource([{ url: 'http://a:1', weight: weight as number }])).message).toBe(
        `Invalid staticSource[0].weight: expected a finite number (weight >= 0), received ${typeof weight === 'string' ? 'a string' : weight}`,
      );
    expect(thrown(() => staticSource([{ url: 'http://a:1', priority: Number.NaN }])).message).toBe(
      'Invalid staticSource[0].priority: expected a finite number (weight >= 0), received NaN',
    );
  });

  it('refuses a URL given twice, naming both entries', () => {
    expect(
      thrown(() => staticSource(['http://a:1', 'http://b:1', { url: 'http://a:1', weight: 2 }])).message,
    ).toBe(
      'Invalid staticSource[2]: expected a URL not given in [0] already (one endpoint per URL), received a string',
    );
    expect(thrown(() => staticSource(['http://a:1', 'http://b:1', 'http://b:1'])).message).toBe(
      'Invalid staticSource[2]: expected a URL not given in [1] already (one endpoint per URL), received a string',
    );
  });
});

describe('fromEnv (review 40, static.ts)', () => {
  it('derives the variable from the service name, every run of other characters one _', () => {
    expect(envVariableFor('user-db')).toBe('USER_DB_SERVICE');
    expect(envVariableFor('a..b-c')).toBe('A_B_C_SERVICE');
  });

  it('reads a comma-separated list, trimmed, describing it; a blank value is unset', () => {
    const source = fromEnv('API', { env: { API: ' http://a:1 , http://b:1' } }).forService('api');
    expect(source).toStrictEqual({
      kind: 'env',
      description: 'env API (2 URL(s))',
      endpoints: [{ url: 'http://a:1' }, { url: 'http://b:1' }],
    });
    expect(thrown(() => fromEnv('API', { env: { API: 'http://a:1,nope' } }).forService('api'))).toMatchObject(
      {
        setting: 'env API (entry 2 of 2)',
        variable: 'API',
      },
    );
    expect(thrown(() => fromEnv('API', { env: { API: 'nope' } }).forService('api'))).toMatchObject({
      setting: 'env API',
    });
    expect(thrown(() => fromEnv('API', { env: { API: 5 as never } }).forService('api'))).toMatchObject({
      setting: 'env API',
      code: 'ERR_INVALID_URL',
    });
    expect(fromEnv('API', 'http://d:1', { env: { API: '  ' } }).forService('api').description).toBe(
      'env API unset, default (1 URL(s))',
    );
  });

  it('falls back to the default, a URL or a list, naming a bad entry of a list by index', () => {
    const env = { env: {} };
    expect(fromEnv('API', ['http://a:1', 'http://b:1'], env).forService('api')).toStrictEqual({
      kind: 'env',
      description: 'env API unset, default (2 URL(s))',
      endpoints: [{ url: 'http://a:1' }, { url: 'http://b:1' }],
    });
    expect(
      fromEnv({ default: 'http://d:1', env: { API_SERVICE: undefined } }).forService('api').endpoints,
    ).toEqual([{ url: 'http://d:1' }]);
    expect(fromEnv('API', { default: 'http://d:1', env: {} }).forService('api').endpoints).toEqual([
      { url: 'http://d:1' },
    ]);
    expect(thrown(() => fromEnv('API', ['http://a:1', 'nope'], env).forService('api'))).toMatchObject({
      setting: 'the default of env API[1]',
      variable: undefined,
    });
    expect(thrown(() => fromEnv('API', 'nope', env).forService('api'))).toMatchObject({
      setting: 'the default of env API',
    });
    expect(thrown(() => fromEnv('API', env).forService('api')).message).toBe(
      'Invalid URL in env API: the variable is not set and no default was given. Expected an absolute URL such as http://host:8001 (or a comma-separated list of them) in API',
    );
  });

  it('refuses a default that is no URL or list of URLs, and a variable name that is no name', () => {
    for (const fallback of [5, ['http://a:1', 5], { default: 5 }])
      expect(thrown(() => fromEnv('API', fallback as never))).toMatchObject({ argument: 'fromEnv default' });
    expect(thrown(() => fromEnv('API', 5 as never)).message).toBe(
      'Invalid fromEnv default: expected a URL or an array of URLs, received 5',
    );
    for (const variable of ['1API', 'A-B', ''])
      expect(thrown(() => fromEnv(variable)).message).toBe(
        'Invalid fromEnv variable: expected an environment variable name like AUTH_SERVICE, received a string',
      );
    expect(fromEnv('_a1').variable).toBe('_a1');
  });

  it('takes null for no fallback (then the options argument counts), undefined for a derived name, and refuses a null name', () => {
    expect(
      fromEnv('API', null as never, { default: 'http://d:1', env: {} }).forService('api').endpoints,
    ).toEqual([{ url: 'http://d:1' }]);
    expect(fromEnv(undefined, 'http://d:1', { variable: 'API' }).variable).toBe('API');
    expect(thrown(() => fromEnv(null as never))).toMatchObject({ argument: 'fromEnv variable' });
  });

  it('is described by its variable, or <SERVICE>_SERVICE, and cannot be opened on its own', () => {
    expect(fromEnv('API')).toMatchObject({ kind: 'env', variable: 'API', description: 'env API' });
    expect(fromEnv()).toMatchObject({ variable: undefined, description: 'env <SERVICE>_SERVICE' });
    expect(thrown(() => (fromEnv().open as () => never)()).message).toBe(
      'Invalid fromEnv(): expected to be used as a service in createRegistry({ services }), received a string',
    );
  });

  it('reads process.env by default', () => {
    vi.stubEnv('REVIEW_40_SERVICE', 'http://p:1');
    try {
      expect(fromEnv().forService('review-40').endpoints).toEqual([{ url: 'http://p:1' }]);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('tcpCheck and httpCheck failures (review 40, health.ts)', () => {
  it('tcpCheck refuses an endpoint without a port, or port 0, naming the option and what it takes', async () => {
    for (const url of ['tcp://10.0.0.5', 'tcp://10.0.0.5:0']) {
      const error = await failure(tcpCheck()(endpointAt(url), { signal: new AbortController().signal }));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error.message).toBe('Invalid tcpCheck endpoint: expected a URL with a port, received a string');
    }
  });

  it("httpCheck's failure to an endpoint with credentials masks them, keeping the fetch's error as its cause", async () => {
    const cause = new TypeError('request with authorization Basic dTpzM2NyZXQ= failed');
    const fetch = (async () => {
      throw cause;
    }) as typeof globalThis.fetch;
    const error = await failure(
      httpCheck({ fetch })(endpointAt('http://u:s3cret@10.0.0.1:80'), {
        signal: new AbortController().signal,
      }),
    );
    expect(error.message).toBe('request with authorization Basic *** failed');
    expect(error.cause).toBe(cause);
  });
});

describe('tcpCheck and its socket (review 40, health.ts; node:net connect stubbed)', () => {
  /** A socket that does nothing until the test emits on it. */
  const stubSocket = () => {
    const socket = Object.assign(new EventEmitter(), { destroy: vi.fn() });
    vi.spyOn(net, 'connect').mockReturnValue(socket as never);
    return socket;
  };

  it('stops a connect that hangs at an abort, with its reason, destroying the socket', async () => {
    try {
      const socket = stubSocket();
      const controller = new AbortController();
      const reason = new Error('check timed out');
      const outcome = failure(tcpCheck()(endpointAt('tcp://10.0.0.5:5432'), { signal: controller.signal }));
      await drain();
      expect(net.connect).toHaveBeenCalledWith({ host: '10.0.0.5', port: 5432 });
      controller.abort(reason);
      expect(await outcome).toBe(reason);
      expect(socket.destroy).toHaveBeenCalledTimes(1);
      // Nor does its listener stay on the signal, holding the socket for as long as the signal lives.
      expect(listeners(controller.signal)).toBe(0);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('answers true on connect and rejects on error, closing the socket and leaving no abort listener', async () => {
    try {
      for (const event of ['connect', 'error'] as const) {
        const socket = stubSocket();
        const controller = new AbortController();
        const outcome = tcpCheck()(endpointAt('tcp://10.0.0.5:5432'), { signal: controller.signal }).then(
          (healthy) => healthy,
          (error: Error) => error.message,
        );
        await drain();
        expect(listeners(controller.signal)).toBe(1);
        if (event === 'connect') socket.emit('connect');
        else socket.emit('error', new Error('ECONNREFUSED'));
        expect(await outcome).toBe(event === 'connect' ? true : 'ECONNREFUSED');
        expect(socket.destroy).toHaveBeenCalledTimes(1);
        expect(listeners(controller.signal)).toBe(0);
      }
    } finally {
      vi.restoreAllMocks();
    }
  });
});

describe('createRegistry options (review 40, Stryker survivors of registry.ts 151-350)', () => {
  const service = (options: Record<string, unknown>) => () =>
    createRegistry({ services: { api: { url: 'http://a:1', ...options } } });

  it('names the range a number option takes, with ∞ for no upper bound', () => {
    expect(thrown(service({ panicThreshold: 101 })).message).toBe(
      'Invalid services.api.panicThreshold: expected a number in [0, 100], received 101',
    );
    expect(thrown(service({ maxEndpoints: 0 })).message).toBe(
      'Invalid services.api.maxEndpoints: expected a number in [1, ∞], received 0',
    );
  });

  it('refuses a maxEndpoints that is no whole number, saying so', () => {
    expect(thrown(service({ maxEndpoints: 1.5 })).message).toBe(
      'Invalid services.api.maxEndpoints: expected a whole number, received 1.5',
    );
  });

  it('names each health check option it refuses, with its range', () => {
    const check = () => Promise.resolve(true);
    for (const [option, value, range] of [
      ['interval', 0, '[1, ∞]'],
      ['timeout', 0, '[1, ∞]'],
      ['jitter', 2, '[0, 1]'],
      ['healthyThreshold', 0, '[1, ∞]'],
      ['unhealthyThreshold', 0, '[1, ∞]'],
    ] as const)
      expect(thrown(service({ healthCheck: { check, [option]: value } })).message).toBe(
        `Invalid services.api.healthCheck.${option}: expected a number in ${range}, received ${value}`,
      );
  });

  it('refuses a health check that is null or a function, naming its check', () => {
    for (const healthCheck of [null, Object.assign(() => true, { check: () => Promise.resolve(true) })])
      expect(thrown(service({ healthCheck }))).toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        message: expect.stringMatching(
          /^Invalid services\.api\.healthCheck\.check: expected a health check function such as httpCheck\(\), received /,
        ),
      });
  });
});

describe('what a failed lookup shows (review 40, registry.ts describeError)', () => {
  const failing = (reason: unknown): Source => ({
    kind: 'custom',
    description: 'test',
    open: () => ({ resolve: () => Promise.reject(reason) }),
  });
  const shown = async (reason: unknown): Promise<string> => {
    const registry = createRegistry({ services: { api: failing(reason) }, clock: createFakeClock() });
    try {
      return (await failure(registry.ready('api'))).message;
    } finally {
      registry.close();
    }
  };

  it('shows null as null, and a failure whose message cannot be read as unreadable', async () => {
    expect(await shown(null)).toBe('custom: null');
    const unreadable = {
      get message(): string {
        throw new Error('no');
      },
    };
    expect(await shown(unreadable)).toBe('custom: an unreadable failure');
  });
});

describe('fromEnv where there is no process (review 40, static.ts)', () => {
  it('reads no variable, so the default is used', () => {
    const saved = globalThis.process;
    let source: Source;
    try {
      (globalThis as { process?: unknown }).process = undefined;
      source = fromEnv(undefined, 'http://d:1').forService('api');
    } finally {
      globalThis.process = saved;
    }
    expect(source.endpoints).toEqual([{ url: 'http://d:1' }]);
  });
});

describe('what counts as a source (review 40, source.ts isSource)', () => {
  it('an object with a string kind and open() or an endpoints array; null, a kind alone or a kind that is no string is refused', () => {
    const open = () => ({ resolve: () => Promise.resolve({ endpoints: [] }) });
    for (const config of [null, { kind: 'x' }, { kind: 5, open }, { kind: 'x', endpoints: 'http://a:1' }])
      expect(thrown(() => createRegistry({ services: { api: config as never } })).message).toMatch(
        /^Invalid services\.api: expected \{ url \}, \{ urls \}, a URL string or a source, received /,
      );
    expect(thrown(() => createRegistry({ services: { api: { url: null as never } } })).message).toBe(
      'Invalid URL in services.api.url: expected a string, got object. Expected an absolute URL such as http://host:8001',
    );
    for (const source of [null, Object.assign(() => {}, { kind: 'x', open })])
      expect(
        thrown(() => createRegistry({ services: { api: { source: source as never } } })).message,
      ).toMatch(/^Invalid services\.api\.source: expected a source such as dnsSrv\(\), received /);
    const registry = createRegistry({
      services: {
        opened: { kind: 'x', description: 'x', open },
        listed: { kind: 'x', description: 'x', endpoints: [{ url: 'http://a:1' }] },
      },
    });
    expect(registry.url('listed')).toBe('http://a:1');
    expect(registry.inspect('opened').source).toMatchObject({ kind: 'x' });
    registry.close();
  });
});

describe('a service starting (review 40, Stryker survivors of registry.ts 351-450)', () => {
  it('refuses a source whose open() returns no resolver, naming what it takes', () => {
    const source = { kind: 'x', description: 'x', open: () => undefined } as unknown as Source;
    expect(thrown(() => createRegistry({ services: { api: source } })).message).toBe(
      'Invalid services.api.source: expected open() => { resolve }, received undefined',
    );
  });

  it('asks again minInterval after a lookup that started at 3985.31 ms, where the sum rounds down (4113.3099...)', async () => {
    const clock = createFakeClock({ now: 3985.31 });
    expect(3985.31 + 128 - 3985.31).toBeLessThan(128);
    const source: Source = {
      kind: 'x',
      description: 'x',
      open: () => ({ resolve: async () => ({ endpoints: [{ url: 'http://a:1' }], ttlMs: 0 }) }),
    };
    const registry = createRegistry({ services: { api: source }, clock, minInterval: 128, jitter: 0 });
    try {
      await registry.ready('api');
      await drain();
      const at = registry.inspect('api').nextRefreshAt as number;
      expect(at - 3985.31).toBeGreaterThanOrEqual(128);
      expect(at).toBeLessThan(4114);
    } finally {
      registry.close();
    }
  });

  it('schedules the next lookup no earlier than now when a negative TTL equals the spacing still due', async () => {
    const clock = createFakeClock({ now: 1000 });
    const source: Source = {
      kind: 'x',
      description: 'x',
      open: () => ({
        // Answers 5 ms after it is asked, with a TTL of -5 ms: the same as the wait left (lastStart - now).
        resolve: () =>
          new Promise((resolve) => {
            clock.setTimeout(() => resolve({ endpoints: [{ url: 'http://a:1' }], ttlMs: -5 }), 5);
          }),
      }),
    };
    const registry = createRegistry({ services: { api: source }, clock, minInterval: 0, jitter: 0 });
    try {
      await clock.advance(5);
      await registry.ready('api');
      await drain();
      expect(registry.inspect('api').nextRefreshAt).toBe(1005);
    } finally {
      registry.close();
    }
  });
});
