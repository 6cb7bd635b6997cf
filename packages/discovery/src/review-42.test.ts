/**
 * Review round 42: an answer is taken in whole or not at all (an entry whose fields cannot be read turned the answer
 * down after the entries before it were put in state, with health checks that close() left running). Each test was
 * seen failing on the registry.ts before the fix. Time is a fake clock.
 */
import { createRegistry, type EndpointInit, type Snapshot, type Source } from '@integ/discovery';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

/** A source whose n-th lookup (from 0) answers `answer(n)`; `closed` counts its resolver's close() calls. */
function scripted(answer: (n: number) => Snapshot): Source & { closed: number } {
  let n = 0;
  const source = {
    kind: 'test',
    description: 'a scripted source',
    closed: 0,
    open: () => ({
      resolve: async () => answer(n++),
      close: () => {
        source.closed++;
      },
    }),
  };
  return source;
}

/** An entry whose `field` getter throws, as a Proxy or a class with a broken getter may. */
function unreadable(url: string, field: keyof EndpointInit): EndpointInit {
  return Object.defineProperty({ url }, field, {
    enumerable: true,
    get() {
      throw new Error(`unreadable ${field}`);
    },
  }) as EndpointInit;
}

describe('taking an answer in: whole or not at all', () => {
  for (const field of ['priority', 'weight', 'hostname', 'meta'] as const)
    it(`checks no endpoint of an answer turned down for an unreadable ${field}, and close() leaves no timer`, async () => {
      const clock = createFakeClock();
      const checked: string[] = [];
      const registry = createRegistry({
        services: {
          api: {
            source: scripted(() => ({
              endpoints: [
                { url: 'http://a.test' },
                unreadable('http://b.test', field),
                { url: 'http://c.test' },
              ],
            })),
          },
        },
        clock,
        outlierDetection: false,
        healthCheck: {
          check: async (endpoint) => {
            checked.push(endpoint.url);
            return true;
          },
        },
      });
      await expect(registry.ready('api')).rejects.toThrow(`unreadable ${field}`);
      await clock.advance(60_000);
      expect(registry.inspect('api')).toMatchObject({ state: 'failed', endpoints: [] });
      expect(checked).toEqual([]);
      registry.close();
      expect(clock.pendingTimers).toBe(0);
    });

  it('keeps an endpoint as it was when a later entry of the answer cannot be read', async () => {
    const clock = createFakeClock();
    const heard: string[][] = [];
    const registry = createRegistry({
      services: {
        api: {
          source: scripted((n) => ({
            endpoints:
              n === 0
                ? [{ url: 'http://a.test', weight: 1 }]
                : [
                    { url: 'http://a.test', weight: 5, meta: { zone: 'b' } },
                    unreadable('http://b.test', 'priority'),
                  ],
          })),
        },
      },
      clock,
    });
    registry.subscribe('api', (endpoints) => heard.push(endpoints.map((e) => `${e.url} ${e.weight}`)));
    await registry.ready('api');
    await expect(registry.refresh('api')).rejects.toThrow('unreadable priority');
    expect(registry.endpoints('api')).toEqual([
      { url: 'http://a.test', service: 'api', weight: 1, priority: 0 },
    ]);
    expect(registry.pick('api').weight).toBe(1);
    expect(registry.inspect('api')).toMatchObject({ state: 'stale', refreshes: 1 });
    expect(heard).toEqual([['http://a.test 1']]);
    registry.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('serves the next answer in full after one turned down, its new endpoints checked from then on', async () => {
    const clock = createFakeClock();
    const checked: string[] = [];
    const registry = createRegistry({
      services: {
        api: {
          source: scripted((n) => ({
            endpoints:
              n === 0
                ? [{ url: 'http://a.test' }]
                : n === 1
                  ? [{ url: 'http://b.test' }, unreadable('http://c.test', 'weight')]
                  : [{ url: 'http://a.test' }, { url: 'http://b.test' }],
          })),
        },
      },
      clock,
      outlierDetection: false,
      healthCheck: {
        interval: 1_000,
        jitter: 0,
        check: async (endpoint) => {
          checked.push(endpoint.url);
          return true;
        },
      },
    });
    await registry.ready('api');
    await clock.advance(0);
    await expect(registry.refresh('api')).rejects.toThrow('unreadable weight');
    await clock.advance(0);
    // b.test was in a turned-down answer: never checked, never served.
    expect(checked).toEqual(['http://a.test']);
    expect(registry.endpoints('api').map((e) => e.url)).toEqual(['http://a.test']);
    await registry.refresh('api');
    await clock.advance(0);
    expect(checked).toEqual(['http://a.test', 'http://b.test']);
    expect(registry.endpoints('api').map((e) => e.url)).toEqual(['http://a.test', 'http://b.test']);
    registry.close();
    expect(clock.pendingTimers).toBe(0);
  });
});
