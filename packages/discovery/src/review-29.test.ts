/**
 * Review round 29: a token quoted JSON-escaped or URL-encoded, readJson() and a reader whose cancel() never ends its
 * read, a resolve() that calls refresh() of its own service, a throwing `random` or balancer.
 */
import { inspect } from 'node:util';
import { consul, createRegistry, etcd, type Registry } from '@integ/discovery';
import { httpCheck } from '@integ/discovery/health';
import { createFakeClock, drain, settledValue } from '@integ/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { recordingLogger } from './internal/test-servers.js';

const opened: Registry[] = [];
afterEach(() => {
  for (const registry of opened.splice(0)) registry.close();
});

// Every form a message can quote a secret in: as written, JSON-escaped (a request echoed as JSON) and URL-encoded.
const forms = (secret: string): string[] => [
  secret,
  JSON.stringify(secret).slice(1, -1),
  encodeURIComponent(secret),
];

// What a user sees of an error, but its cause (kept as thrown: decision 0190).
function shown(error: Error): string {
  const { cause } = error;
  delete error.cause;
  try {
    return [error.message, error.stack, String(error), inspect(error)].join('\n');
  } finally {
    error.cause = cause;
  }
}

// A token as Consul or etcd take it (printable ASCII and tabs inside, checkToken()), long enough to be a secret.
const token = fc
  .string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 8 })
  .map((t) => t.trim())
  .filter((t) => t.length >= 8);

describe('a token quoted JSON-escaped or URL-encoded by a custom fetch', () => {
  it('is masked in the failed lookup of consul and etcd, in every form (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(token, fc.string(), fc.constantFrom('consul', 'etcd'), async (t, filler, kind) => {
        // A fetch wrapper whose error quotes its request: the headers as JSON, the token in a query, as is.
        const fetchStub = (async (_: string, init: RequestInit) => {
          throw new Error(
            `${filler} ${JSON.stringify(init.headers)} http://x/?t=${encodeURIComponent(t)}&${filler} ${t}${filler}`,
          );
        }) as unknown as typeof fetch;
        const { logger, lines } = recordingLogger();
        const clock = createFakeClock();
        const registry = createRegistry({
          clock,
          logger,
          services: {
            s:
              kind === 'consul'
                ? consul('s', { fetch: fetchStub, token: t })
                : etcd('/s/', { fetch: fetchStub, token: t }),
          },
        });
        opened.push(registry);
        const error = (await registry.ready('s').catch((e: Error) => e)) as Error;
        const text = [shown(error), JSON.stringify(lines), JSON.stringify(registry.inspect('s'))].join('\n');
        for (const form of forms(t)) expect(text).not.toContain(form);
        expect(error.message).toContain('***');
        registry.close();
      }),
      { numRuns: 200, seed: 29 },
    );
  });

  it('is masked in a failed httpCheck, a password in the URL (sent as Basic) in every form', async () => {
    await fc.assert(
      fc.asyncProperty(token, async (password) => {
        const url = new URL('http://user@h:1/');
        url.password = password;
        // As httpCheck() sends it: each %XX as its byte, a '%' that starts none as written.
        const pair = `user:${url.password}`.replace(/%([\da-f]{2})/gi, (_, hex: string) =>
          String.fromCharCode(parseInt(hex, 16)),
        );
        const secret = btoa(pair);
        const check = httpCheck({
          fetch: (async (_: URL, init: RequestInit) => {
            throw new Error(`${JSON.stringify(init.headers)} ${encodeURIComponent(secret)}`);
          }) as unknown as typeof fetch,
        });
        const error = (await Promise.resolve(
          check({ url: url.href } as never, { signal: new AbortController().signal }),
        ).catch((e: Error) => e)) as Error;
        const text = shown(error);
        for (const form of forms(secret)) expect(text).not.toContain(form);
      }),
      { numRuns: 200, seed: 29 },
    );
  });

  it('is masked when a mask next to the text completes it again (a token ending in *)', async () => {
    const fetchStub = (async () => {
      throw new Error('abc"efgabc"efg**');
    }) as unknown as typeof fetch;
    const registry = createRegistry({
      clock: createFakeClock(),
      services: { s: consul('s', { fetch: fetchStub, token: 'abc"efg*' }) },
    });
    opened.push(registry);
    const error = (await registry.ready('s').catch((e: Error) => e)) as Error;
    // Round 30 (docs/decisions/0208): a mask completing the token masks the whole text, in one pass.
    expect(error.message).toBe('consul: s: ***');
  });

  it('is still in the cause (as thrown, decision 0190): inspect() prints it under [cause]', async () => {
    const t = 'ab"c\\d-secret';
    const fetchStub = (async (_: string, init: RequestInit) => {
      throw new Error(JSON.stringify(init.headers));
    }) as unknown as typeof fetch;
    const registry = createRegistry({
      clock: createFakeClock(),
      services: { s: consul('s', { fetch: fetchStub, token: t }) },
    });
    opened.push(registry);
    const error = (await registry.ready('s').catch((e: Error) => e)) as Error;
    expect(error.message).toBe('consul: s: {"accept":"application/json","x-consul-token":"***"}');
    expect(inspect(error)).toContain(JSON.stringify(t).slice(1, -1));
  });
});

describe('readJson() and a reader whose cancel() never ends its pending read', () => {
  // A mock reader: one chunk (maybe), then a read() that nothing ends; cancel() returns what `cancel` gives.
  const stalling = (cancel: () => unknown, cancels: { n: number }) =>
    (async () => {
      let chunks = [new TextEncoder().encode('[')];
      return {
        ok: true,
        status: 200,
        headers: new Headers(),
        body: {
          getReader: () => ({
            read: () => {
              const value = chunks.shift();
              return value ? Promise.resolve({ value, done: false }) : new Promise(() => {});
            },
            cancel: () => {
              cancels.n++;
              chunks = [];
              return cancel();
            },
          }),
        },
      };
    }) as unknown as typeof fetch;

  it.each([
    ['a promise that never settles', () => new Promise(() => {})],
    ['undefined', () => undefined],
  ])(
    'when cancel() returns %s, the time limit settles consul and etcd lookups on the fake clock',
    async (_, cancel) => {
      const cancels = { n: 0 };
      const clock = createFakeClock();
      const registry = createRegistry({
        clock,
        services: {
          c: consul('c', { fetch: stalling(cancel, cancels) }),
          e: etcd('/e/', { fetch: stalling(cancel, cancels) }),
        },
      });
      opened.push(registry);
      const failure = (name: string) =>
        registry.ready(name).then(
          () => 'ready',
          (error: Error) => error.message,
        );
      // Still pending once every promise callback ran after the clock passed the time limit: held for good.
      const within = (outcome: Promise<string>) => settledValue(outcome);
      const c = failure('c');
      const e = failure('e');
      await clock.advance(5_000);
      expect(await within(e)).toBe('etcd: range timed out after 5000 ms');
      await clock.advance(5_000);
      expect(await within(c)).toBe('consul: no answer within 10000 ms');
      expect(cancels.n).toBe(2);
    },
  );

  it('close() settles a lookup whose read its cancel() does not end', async () => {
    const registry = createRegistry({
      clock: createFakeClock(),
      services: { c: consul('c', { fetch: stalling(() => new Promise(() => {}), { n: 0 }) }) },
    });
    const ready = registry.ready('c').catch((error: Error) => error.message);
    // The lookup in flight, as refresh() shares it.
    const refresh = registry.refresh('c').catch((error: Error) => error.message);
    await drain();
    registry.close();
    expect(await ready).toMatch(/closed/);
    expect(await settledValue(refresh)).toMatch(/closed/);
  });
});

describe('a source whose resolve() calls refresh() of its own service', () => {
  it('shares the lookup in flight: one resolve() per refresh, no recursion', async () => {
    let registry: Registry | undefined;
    let calls = 0;
    const nested: Promise<unknown>[] = [];
    registry = createRegistry({
      clock: createFakeClock(),
      services: {
        s: {
          kind: 'custom',
          description: 'calls refresh() from resolve()',
          open: () => ({
            resolve: () => {
              calls++;
              // Synchronously, before the lookup is stored as in flight.
              if (registry) nested.push(registry.refresh('s').then(() => 'refreshed'));
              return Promise.resolve({ endpoints: [{ url: `http://h${calls}:1` }], ttlMs: 60_000 });
            },
          }),
        },
      },
    });
    opened.push(registry);
    await registry.ready('s');
    expect(calls).toBe(1);
    await registry.refresh('s');
    expect(calls).toBe(2);
    expect(nested.length).toBe(1);
    expect(await nested[0]).toBe('refreshed');
    expect(registry.url('s')).toBe('http://h2:1');
  });
});

describe('a throwing random or balancer (decision 0168)', () => {
  const boom = (): never => {
    throw new Error('broken http://u:pw@h/');
  };

  it("a throwing random: pick() and the refresh loop go on with Math.random, each throw logged at 'error'", async () => {
    const { logger, lines } = recordingLogger();
    const clock = createFakeClock();
    let calls = 0;
    const registry = createRegistry({
      clock,
      logger,
      random: boom,
      balancer: 'random',
      services: {
        s: { urls: ['http://a:1', 'http://b:1'] },
        t: {
          kind: 'custom',
          description: 'answers with a TTL',
          open: () => ({
            resolve: async () => {
              calls++;
              return { endpoints: [{ url: 'http://c:1' }], ttlMs: 1_000 };
            },
          }),
        },
      },
    });
    opened.push(registry);
    expect(['http://a:1', 'http://b:1']).toContain(registry.pick('s').url);
    await registry.ready('t');
    // The loop's next lookup is timed with random (TTL jitter): it threw there, and the loop stopped.
    await clock.advance(5_000);
    expect(calls).toBeGreaterThanOrEqual(5);
    const errors = lines.filter(([, msg]) => msg === 'random failed; used Math.random');
    expect(errors.length).toBeGreaterThan(0);
    // Masked as any failure the registry logs.
    expect(JSON.stringify(lines)).not.toContain('pw');
  });

  it('a balancer whose pick() throws: pick() and url() throw ERR_BALANCER with it as cause', () => {
    const registry = createRegistry({
      balancer: { name: 'mine', pick: boom },
      services: { s: { urls: ['http://a:1', 'http://b:1'] } },
    });
    opened.push(registry);
    for (const call of [() => registry.pick('s'), () => registry.url('s')]) {
      let error: (Error & { code?: string; cause?: Error; retryable?: boolean }) | undefined;
      try {
        call();
      } catch (e) {
        error = e as typeof error;
      }
      expect(error?.code).toBe('ERR_BALANCER');
      expect(error?.message).toBe('s: balancer mine pick() failed: broken http://***@h/');
      expect(error?.cause?.message).toBe('broken http://u:pw@h/');
      expect(error?.retryable).toBe(false);
    }
  });

  it("a balancer whose observe() throws: report() does not throw, logs it at 'error', and outlier detection still counts", () => {
    const { logger, lines } = recordingLogger();
    const registry = createRegistry({
      logger,
      balancer: { name: 'mine', pick: (candidates) => candidates[0] as never, observe: boom },
      services: { s: { urls: ['http://a:1', 'http://b:1'], outlierDetection: { consecutive5xx: 1 } } },
    });
    opened.push(registry);
    const endpoint = registry.pick('s');
    expect(() => registry.report(endpoint, { ok: false, latencyMs: 1, status: 503 })).not.toThrow();
    expect(lines).toContainEqual([
      { service: 's', balancer: 'mine', err: 'broken http://***@h/' },
      'balancer observe() threw',
    ]);
    expect(registry.inspect('s').endpoints.find((e) => e.url === endpoint.url)?.ejected).toBe(true);
  });
});
