/**
 * Review round 27: a cross-review of round 26's fixes (3c8f92d a failed etcd watch's cleanup aborts its controller
 * only, a139fe9 a watch answered with an HTTP error goes through refuse(), d47bcc4 their tests), attacking each for
 * the cases next to the probed one: watches that end without failing, 10,000 times, and bodies that refuse() and
 * the other cancels cannot cancel (no web stream, a cancel() returning no promise).
 */
import { consul, createRegistry, etcd, httpCheck, type Registry } from '@integ/discovery';
import { createFakeClock } from '@integ/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { b64 } from './internal/test-etcd-fetch.js';
import { listeners, opening } from './internal/test-servers.js';

const opened: Registry[] = [];
afterEach(() => {
  for (const registry of opened.splice(0)) registry.close();
});

/** etcd's range answer: one key. */
const rangeAnswer = (): Response =>
  new Response(
    JSON.stringify({
      header: { revision: '1' },
      kvs: [{ key: b64('/s/a'), value: b64('http://10.0.0.1:80') }],
    }),
  );

describe('2,000 etcd watches that end without failing (3c8f92d)', () => {
  it('leave no listener of an ended watch on the registry signal, and none after close()', async () => {
    // The watch's finally unlinks it from the registry's signal (through the abort, since 3c8f92d) as soon as its
    // stream ends; only a re-read's watch.abort() did so without it, one listener late. (Probed 10,000 ends too.)
    const clock = createFakeClock();
    let watches = 0;
    const fetchStub = (async (input: string) => {
      if (input.endsWith('/v3/kv/range')) return rangeAnswer();
      watches++;
      return new Response(new ReadableStream({ start: (controller) => controller.close() }));
    }) as unknown as typeof fetch;
    const { source, context } = opening(etcd('/s/', { fetch: fetchStub }));
    const registry = createRegistry({ services: { s: source }, clock, minInterval: 1, refreshInterval: 1 });
    opened.push(registry);
    await registry.ready('s');
    const seen = new Set<number>();
    for (let i = 0; i < 4000; i++) {
      await clock.advance(1);
      seen.add(listeners(context().signal));
    }
    expect(watches).toBe(2001); // one per re-read, each 2 ms later (the failure, the retry)
    expect([...seen]).toEqual([0]);
    expect(clock.pendingTimers).toBe(2); // the re-read and the sweep
    registry.close();
    expect(listeners(context().signal)).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('an answer whose body cannot be cancelled (next to a139fe9)', () => {
  it.each([
    ['no web stream (a Node stream, as node-fetch gives)', {}],
    ['a cancel() that returns no promise', { cancel: () => undefined }],
  ])('with %s keeps its status as the answer', async (_, body) => {
    // Cancelling it threw a TypeError, which replaced the answer: an httpCheck of a 200 failed (every endpoint
    // unhealthy), an HTTP 503 lost its status, an answer past maxResponseBytes its size.
    const answer = (status: number, length = '0') => ({
      ok: status < 300,
      status,
      body,
      headers: new Headers({ 'content-length': length }),
    });
    const fetchStub = (async (input: string | URL) => {
      const url = String(input); // httpCheck's is a URL
      if (url.includes('/v1/health/service/big')) return answer(200, '999999');
      if (url.endsWith('/v3/kv/range') && !url.includes(':2')) return rangeAnswer();
      return answer(url.startsWith('http://a:1') ? 200 : 503);
    }) as unknown as typeof fetch;
    const clock = createFakeClock();
    const registry = createRegistry({
      services: {
        check: { urls: ['http://a:1'] },
        consul: consul('api', { fetch: fetchStub }),
        big: consul('big', { fetch: fetchStub, maxResponseBytes: 1024 }),
        range: etcd('/s/', { endpoints: ['http://e:2'], fetch: fetchStub }),
        watch: etcd('/s/', { endpoints: ['http://e:3'], fetch: fetchStub }),
      },
      clock,
      healthCheck: { check: httpCheck({ fetch: fetchStub }), unhealthyThreshold: 1, jitter: 0 },
    });
    opened.push(registry);
    const failure = (name: string) => registry.ready(name).catch((error: Error) => error.message);
    expect(await failure('consul')).toBe('consul: api: HTTP 503 from the health API');
    expect(await failure('big')).toMatch(/^consul: big: health API: the answer is larger than 1024 bytes/);
    expect(await failure('range')).toBe('etcd: range: HTTP 503');
    await registry.ready('watch');
    await clock.advance(1000);
    expect(registry.inspect('watch').lastError).toMatchObject({ message: 'etcd: watch: HTTP 503' });
    expect(registry.inspect('check').endpoints[0]?.health).toMatchObject({
      status: 'healthy',
      lastError: null,
    });
  });
});
