/**
 * Review round 31: cross-review of round 30's fixes (b9f7a81 the token mask, 848e9b8 a promise per read, 8573299
 * close() ending the lookup in flight, 3e69f7c / 7f03a8d logged once, 69d52c8 a random outside [0, 1], 7c26fb3 a
 * balancer answering with no candidate).
 */

import { inspect } from 'node:util';
import { consul, createRegistry, httpCheck, type Registry, type Source } from '@integ/discovery';
import { createFakeClock, drain } from '@integ/testing';
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
  ])('uses %s as drawn, no log line', (_, value) => {
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

describe('69d52c8: a random returning exactly 1', () => {
  it('is no draw: a balancer is promised [0, 1) (candidates[floor(r * n)]), so 1 is refused as a value out of range, logged once', () => {
    const { logger, lines } = recordingLogger();
    const registry = createRegistry({
      logger,
      // A PRNG divided by 2^32 - 1 instead of 2^32 answers 1 at its largest value.
      random: () => 0xffffffff / 0xffffffff,
      balancer: {
        name: 'by-the-contract',
        pick: (candidates, random) => candidates[Math.floor(random() * candidates.length)] as never,
      },
      services: { s: { urls: ['http://a:1', 'http://b:1', 'http://c:1'] } },
    });
    opened.push(registry);
    for (let i = 0; i < 100; i++)
      expect(['http://a:1', 'http://b:1', 'http://c:1']).toContain(registry.pick('s').url);
    expect(lines.filter(([, msg]) => String(msg).startsWith('random failed')).length).toBe(1);
  });
});

describe('8573299: close() ends the lookup in flight', () => {
  // A custom source whose resolve() is `body`.
  const custom = (body: (signal: AbortSignal) => Promise<unknown>): Source => ({
    kind: 'custom',
    description: 'a custom source',
    open: () => ({ resolve: (signal: AbortSignal) => body(signal) as never }),
  });

  it('close() called from inside resolve(): the lookup, a joined refresh() and ready() reject with the closed error', async () => {
    let registry: Registry | undefined;
    let late: (() => void) | undefined;
    const source = custom(() => {
      if (registry === undefined) return Promise.resolve({ endpoints: [{ url: 'http://a:1' }] });
      const answer = new Promise((resolve) => {
        late = () => resolve({ endpoints: [{ url: 'http://b:1' }] });
      });
      registry.close();
      return answer;
    });
    const { logger, lines } = recordingLogger();
    registry = createRegistry({ clock: createFakeClock(), logger, services: { s: source } });
    opened.push(registry);
    await registry.ready('s');
    const updates: unknown[] = [];
    registry.subscribe('s', (endpoints) => updates.push(endpoints));
    updates.length = 0;
    const outcome = await registry.refresh('s').then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    expect(outcome).toMatch(/the registry was closed/);
    // As the README's close() row says: ready() of a service that has endpoints resolves, and pick() serves them.
    await registry.ready('s');
    expect(registry.pick('s').url).toBe('http://a:1');
    late?.();
    await drain();
    expect(updates).toEqual([]);
    expect(lines.filter(([, msg]) => String(msg).includes('source failed'))).toEqual([]);
  });

  it('a refresh() joined to the lookup in flight, and one after close(), reject with the closed error too', async () => {
    let first = true;
    const source = custom(() =>
      first ? Promise.resolve({ endpoints: [{ url: 'http://a:1' }] }) : new Promise(() => {}),
    );
    const registry = createRegistry({ clock: createFakeClock(), services: { s: source } });
    opened.push(registry);
    await registry.ready('s');
    first = false;
    const message = (promise: Promise<unknown>) =>
      promise.then(
        () => 'resolved',
        (error: Error) => error.message,
      );
    const a = message(registry.refresh('s'));
    const b = message(registry.refresh('s'));
    registry.close();
    expect(await a).toMatch(/the registry was closed/);
    expect(await b).toMatch(/the registry was closed/);
    expect(await message(registry.refresh('s'))).toMatch(/the registry was closed/);
  });

  it('a failure of the source after close() is dropped: no log line, no unhandled rejection, lastError kept', async () => {
    let fail: ((error: Error) => void) | undefined;
    let first = true;
    const source = custom(() => {
      if (first) return Promise.resolve({ endpoints: [{ url: 'http://a:1' }] });
      return new Promise((_, reject) => {
        fail = reject;
      });
    });
    const { logger, lines } = recordingLogger();
    const registry = createRegistry({ clock: createFakeClock(), logger, services: { s: source } });
    opened.push(registry);
    await registry.ready('s');
    first = false;
    const refresh = registry.refresh('s').catch((error: Error) => error.message);
    registry.close();
    fail?.(new Error('late failure'));
    expect(await refresh).toMatch(/the registry was closed/);
    await drain();
    expect(lines.filter(([, msg]) => String(msg).includes('source failed'))).toEqual([]);
    expect(registry.inspect('s').lastError).toBeNull();
  });
});

describe('b9f7a81: the whole message masked', () => {
  it('a consul failure masked whole keeps the source and service, and its own stack and inspect() hold no token (the cause does, 0190)', async () => {
    const token = 'abc*';
    const fetchStub = (async () => {
      throw new Error(`request failed: ${'abc'.repeat(4)}** status 503`);
    }) as unknown as typeof fetch;
    const registry = createRegistry({
      clock: createFakeClock(),
      services: { orders: consul('orders', { fetch: fetchStub, token }) },
    });
    opened.push(registry);
    const error = (await registry.ready('orders').catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(/orders: \*\*\*$/);
    expect(error.message).toContain('consul');
    expect(error.stack).not.toContain('abc*');
    expect(inspect({ ...error, cause: undefined, stack: error.stack, message: error.message })).not.toContain(
      'abc*',
    );
  });

  it("a token whose forms are all the same ('abc*') is masked again by each form's pass: three completions keep the rest", async () => {
    const fetchStub = (async () => {
      throw new Error(`request failed: ${'abc'.repeat(3)}** status 503`);
    }) as unknown as typeof fetch;
    const registry = createRegistry({
      clock: createFakeClock(),
      services: { orders: consul('orders', { fetch: fetchStub, token: 'abc*' }) },
    });
    opened.push(registry);
    const error = (await registry.ready('orders').catch((e: Error) => e)) as Error;
    expect(error.message).toBe('consul: orders: request failed: ******** status 503');
  });

  it('httpCheck: a 3-character password (a 1-character one, a 2-character user with none) is masked in its Basic form (base64: 4+ characters), message and stack', async () => {
    for (const userinfo of ['u:abc', 'u:x', 'ab:']) {
      const secret = btoa(userinfo);
      const check = httpCheck({
        fetch: (async (_: unknown, init: { headers: Record<string, string> }) => {
          throw new Error(
            `fetch failed with headers ${JSON.stringify(init.headers)} (${encodeURIComponent(secret)})`,
          );
        }) as unknown as typeof fetch,
      });
      const [user, password] = userinfo.split(':');
      const url = `http://${user}:${password}@10.0.0.5:8080`;
      const error = (await check({ url } as never, { signal: new AbortController().signal }).catch(
        (e: Error) => e,
      )) as Error;
      expect(error.message).not.toContain(secret);
      expect(error.message).not.toContain(encodeURIComponent(secret));
      expect(error.stack).not.toContain(secret);
    }
  });
});

describe('3e69f7c / 7f03a8d: logged once (decision 0211)', () => {
  it('a random that throws, recovers and throws again later is not logged again; each draw still works', () => {
    const { logger, lines } = recordingLogger();
    let broken = true;
    const registry = createRegistry({
      logger,
      random: () => {
        if (broken) throw new Error('entropy source down');
        return 0.25;
      },
      balancer: 'least-loaded',
      services: { s: { urls: ['http://a:1', 'http://b:1', 'http://c:1'] } },
    });
    opened.push(registry);
    for (let i = 0; i < 100; i++) registry.pick('s');
    broken = false;
    for (let i = 0; i < 100; i++) registry.pick('s');
    broken = true;
    for (let i = 0; i < 100; i++) registry.pick('s');
    expect(lines.filter(([, msg]) => String(msg).startsWith('random')).length).toBe(1);
  });

  it('keeps its state on each service, not in a collection: 2,000 services whose observe() throws, a line each', () => {
    const { logger, lines } = recordingLogger();
    const services = Object.fromEntries(
      Array.from({ length: 2_000 }, (_, i) => [`s${i}`, { urls: [`http://a${i}:1`, `http://b${i}:1`] }]),
    );
    const registry = createRegistry({
      logger,
      balancer: {
        name: 'mine',
        pick: (candidates) => candidates[0] as never,
        observe: () => {
          throw new Error('observe failed');
        },
      },
      services,
    });
    opened.push(registry);
    for (let round = 0; round < 3; round++)
      for (const name of Object.keys(services))
        registry.report(registry.pick(name), { ok: true, latencyMs: 1 });
    expect(lines.filter(([, msg]) => msg === 'balancer observe() threw').length).toBe(2_000);
  });
});
