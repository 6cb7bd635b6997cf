/**
 * Review round 31: cross-review of round 30's fixes (b9f7a81 the token mask, 848e9b8 a promise per read, 8573299
 * close() ending the lookup in flight, 3e69f7c / 7f03a8d logged once, 69d52c8 a random outside [0, 1], 7c26fb3 a
 * balancer answering with no candidate).
 */

import { createRegistry, type Registry } from '@integ/discovery';
import { createFakeClock } from '@integ/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { recordingLogger } from './internal/test-servers.js';

const opened: Registry[] = [];
afterEach(() => {
  for (const registry of opened.splice(0)) registry.close();
});

describe('69d52c8: a random returning no number', () => {
  it.each([
    ['a BigInt', 1n],
    ['a BigInt 0', 0n],
    ['a numeric string', '0.5'],
    ['a boxed number', Object(0.5)],
  ])(
    '%s is refused as a draw (logged once, Math.random used): health checks, picks and the balancer work',
    async (_, value) => {
      const { logger, lines } = recordingLogger();
      const clock = createFakeClock();
      let checks = 0;
      const drawn: unknown[] = [];
      const registry = createRegistry({
        clock,
        logger,
        random: () => value as number,
        balancer: {
          name: 'mine',
          pick: (candidates, random) => {
            const r = random();
            drawn.push(r);
            return candidates[Math.floor(r * candidates.length)] as never;
          },
        },
        healthCheck: {
          interval: 1_000,
          check: async () => {
            checks++;
            return true;
          },
        },
        services: { s: { urls: ['http://a:1', 'http://b:1', 'http://c:1'] } },
      });
      opened.push(registry);
      await clock.advance(10_000);
      expect(checks).toBeGreaterThanOrEqual(3 * 8);
      expect(checks).toBeLessThanOrEqual(3 * 12);
      for (let i = 0; i < 100; i++)
        expect(['http://a:1', 'http://b:1', 'http://c:1']).toContain(registry.pick('s').url);
      expect(drawn.every((r) => typeof r === 'number')).toBe(true);
      expect(lines.filter(([, msg]) => String(msg).startsWith('random')).length).toBe(1);
    },
  );

  it.each([
    ['0', 0],
    ['-0', -0],
    ['1', 1],
  ])('uses %s as drawn (both ends allowed), no log line', (_, value) => {
    const { logger, lines } = recordingLogger();
    const drawn: number[] = [];
    const registry = createRegistry({
      logger,
      random: () => value,
      balancer: {
        name: 'mine',
        pick: (candidates, random) => {
          drawn.push(random());
          return candidates[0] as never;
        },
      },
      services: { s: { urls: ['http://a:1', 'http://b:1'] } },
    });
    opened.push(registry);
    for (const b of ['least-loaded', 'peak-ewma', 'random', 'weighted'] as const) {
      const r = createRegistry({
        random: () => value,
        balancer: b,
        services: { s: { urls: ['http://a:1', 'http://b:1', 'http://c:1'] } },
      });
      opened.push(r);
      for (let i = 0; i < 10; i++)
        expect(['http://a:1', 'http://b:1', 'http://c:1']).toContain(r.pick('s').url);
    }
    registry.pick('s');
    expect(drawn).toEqual([value]);
    expect(lines.filter(([, msg]) => String(msg).startsWith('random')).length).toBe(0);
  });
});
