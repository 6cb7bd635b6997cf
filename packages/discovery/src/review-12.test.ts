/**
 * Review round 12: the etcd watch's message scanner (decision 0192) against JSON.parse, and its size limit.
 */
import { createRegistry, etcd } from '@integ/discovery';
import { createFakeClock, drain } from '@integ/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { b64, etcdFetch } from './internal/test-etcd-fetch.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Parses of watch messages (those starting {"result") seen by JSON.parse, as the objects they gave. */
function recordParses(): unknown[] {
  const parse = JSON.parse;
  const seen: unknown[] = [];
  vi.spyOn(JSON, 'parse').mockImplementation((text: string, reviver?: Parameters<typeof parse>[1]) => {
    const value = parse(text, reviver);
    if (typeof text === 'string' && text.startsWith('{"result"')) seen.push(value);
    return value;
  });
  return seen;
}

describe('etcd watch scanner, given messages split at random points', () => {
  it('hands each message to JSON.parse whole, as it was sent', async () => {
    const pad = fc.jsonValue({ maxDepth: 3 });
    const message = fc.record({ n: fc.nat(), pad, s: fc.string({ unit: 'binary' }) });
    const gap = fc.constantFrom('', '\n', ' ', '\r\n', '\n\n', ' \t ');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(message, gap), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (messages, cutsRaw) => {
          const objects = messages.map(([m]) => ({ result: { header: { revision: '2' } }, ...m }));
          const text = messages.map(([, g], i) => JSON.stringify(objects[i]) + g).join('');
          const cuts = [...new Set(cutsRaw.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          const chunks: string[] = [];
          let from = 0;
          for (const cut of [...cuts, text.length]) {
            // a cut inside a surrogate pair would be a different string once encoded
            if (cut > from && !/[\ud800-\udbff]/.test(text[cut - 1] ?? '')) {
              chunks.push(text.slice(from, cut));
              from = cut;
            }
          }
          if (from < text.length) chunks.push(text.slice(from));
          // One more message with a key, so the test can see that everything before it was read.
          chunks.push(
            `{"result":{"events":[{"type":"PUT","kv":{"key":"${b64('/s/z')}","value":"${b64('http://10.0.0.2:80')}"}}]}}`,
          );
          vi.restoreAllMocks();
          const seen = recordParses();
          const clock = createFakeClock();
          const registry = createRegistry({
            services: {
              api: etcd({ prefix: '/s/', endpoints: ['http://etcd:2379'], fetch: etcdFetch(chunks) }),
            },
            clock,
            minInterval: 0,
          });
          try {
            await registry.ready();
            // The loop's next lookup is due at once (minInterval 0) and waits on the watch, which reads its chunks
            // on promise callbacks alone (a fake fetch): one step of the clock, then no more time.
            await clock.advance(0);
            await drain();
            expect(registry.endpoints('api')).toHaveLength(2);
            expect(seen.slice(0, -1)).toEqual(JSON.parse(JSON.stringify(objects)));
          } finally {
            registry.close();
          }
        },
      ),
      { seed: 12, numRuns: 150 },
    );
  });
});

describe('etcd watch, given a message larger than maxResponseBytes that ends in the chunk', () => {
  it.each([
    ['in one chunk', 1],
    ['in two chunks', 2],
  ])('refuses it %s, as it refuses one still growing (ERR_DISCOVERY_SOURCE, re-read)', async (_, parts) => {
    const event = `{"type":"PUT","kv":{"key":"${b64('/s/big')}","value":"${b64('http://10.0.0.9:80')}"}}`;
    const message = `{"result":{"events":[${event}]},"pad":"${'x'.repeat(1500)}"}\n`;
    const half = Math.ceil(message.length / parts);
    const chunks = Array.from({ length: parts }, (_, i) => message.slice(i * half, (i + 1) * half));
    let ranges = 0;
    const inner = etcdFetch(chunks);
    const fetchCounting = (async (input: string | URL | Request, init?: RequestInit) => {
      if (String(input).endsWith('/v3/kv/range')) ranges++;
      return inner(input, init);
    }) as typeof fetch;
    const clock = createFakeClock();
    const registry = createRegistry({
      services: {
        api: etcd({
          prefix: '/s/',
          endpoints: ['http://etcd:2379'],
          maxResponseBytes: 1024,
          fetch: fetchCounting,
        }),
      },
      clock,
      minInterval: 0,
    });
    try {
      await registry.ready();
      // Refused, the watch fails and the next lookup re-reads after the registry's backoff (1 ms at first).
      await drain();
      await clock.advance(1);
      await drain();
      expect(ranges).toBe(2);
      expect(registry.endpoints('api').map((e) => e.url)).not.toContain('http://10.0.0.9:80');
    } finally {
      registry.close();
    }
  });

  it('takes a message of exactly maxResponseBytes characters, in one chunk or many', async () => {
    const event = `{"type":"PUT","kv":{"key":"${b64('/s/big')}","value":"${b64('http://10.0.0.9:80')}"}}`;
    const head = `{"result":{"events":[${event}]},"pad":"`;
    const message = `${head}${'x'.repeat(1024 - head.length - 2)}"}`;
    expect(message.length).toBe(1024);
    for (const chunks of [[message], [...message], [`${message}\n`]]) {
      const clock = createFakeClock();
      const registry = createRegistry({
        services: {
          api: etcd({
            prefix: '/s/',
            endpoints: ['http://etcd:2379'],
            maxResponseBytes: 1024,
            fetch: etcdFetch(chunks),
          }),
        },
        clock,
        minInterval: 0,
      });
      try {
        await registry.ready();
        await clock.advance(0);
        await drain();
        expect(registry.endpoints('api')).toHaveLength(2);
      } finally {
        registry.close();
      }
    }
  });
});

describe('etcd watch, given a malformed message at once', () => {
  it('reports ERR_DISCOVERY_SOURCE and backs off, not a silent re-read loop', async () => {
    let ranges = 0;
    const inner = etcdFetch(['{"result": not json}\n']);
    const fetchCounting = (async (input: string | URL | Request, init?: RequestInit) => {
      if (String(input).endsWith('/v3/kv/range')) ranges++;
      return inner(input, init);
    }) as typeof fetch;
    const warns: unknown[] = [];
    const logger = {
      debug() {},
      info() {},
      warn(fields: unknown) {
        warns.push(fields);
      },
      error() {},
    };
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: etcd({ prefix: '/s/', endpoints: ['http://etcd:2379'], fetch: fetchCounting }) },
      clock,
      minInterval: 0,
      logger,
    });
    try {
      await registry.ready();
      // Each failed watch is followed by one re-read per backoff on the clock (1 ms here): never a re-read while
      // the clock stands still.
      await drain();
      expect(ranges).toBe(1);
      await clock.advance(1);
      await drain();
      expect(ranges).toBe(2);
      await clock.advance(1);
      await drain();
      expect(ranges).toBe(3);
      // Before: the failure was cleared by the next lookup, which re-read at once: no warn, no backoff.
      expect(warns).toContainEqual(expect.objectContaining({ service: 'api', code: 'ERR_DISCOVERY_SOURCE' }));
    } finally {
      registry.close();
    }
  });
});
