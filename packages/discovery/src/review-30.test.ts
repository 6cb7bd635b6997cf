/**
 * Review round 30: cross-review of round 29's fixes (c579a4d the token's forms, b893315 readJson's abort race,
 * 7f618bd refresh() from inside resolve(), 3b20c89 a throwing random or balancer).
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { consul, createRegistry, type Registry, type Source } from '@integ/discovery';
import { createFakeClock, drain, settledValue } from '@integ/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { recordingLogger } from './internal/test-servers.js';

const opened: Registry[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const registry of opened.splice(0)) registry.close();
});

// A consul() source whose custom fetch fails with `message`; its lookup's error message.
async function consulFailure(token: string, message: string): Promise<string> {
  const fetchStub = (async () => {
    throw new Error(message);
  }) as unknown as typeof fetch;
  const registry = createRegistry({
    clock: createFakeClock(),
    services: { s: consul('s', { fetch: fetchStub, token }) },
  });
  opened.push(registry);
  const error = (await registry.ready('s').catch((e: Error) => e)) as Error;
  return error.message;
}

describe('c579a4d: the token masked in its forms', () => {
  it('masks a token holding * in one pass, however many times a mask completes it again', async () => {
    const split = vi.spyOn(String.prototype, 'split');
    // Each pass of the loop masked one more 'abc' (abcabc** -> abc**** -> ******): one pass per copy.
    const message = await consulFailure('abc*', `${'abc'.repeat(2_000)}**`);
    const passes = split.mock.calls.filter(([separator]) => String(separator) === 'abc*').length;
    split.mockRestore();
    expect(message).not.toContain('abc*');
    // One split per form (here all three are 'abc*'); 2,004 before.
    expect(passes).toBeLessThanOrEqual(3);
  });

  it('leaves no form of a token that a mask completes: the whole text is masked then', async () => {
    for (const token of ['abc*', '*abc', 'a*b*', '****']) {
      for (const message of [`abcabc**`, `**abcabc`, `a*a*b**b*`, '********', `x ${token} ${token}* y`]) {
        expect(await consulFailure(token, message)).not.toContain(token);
      }
    }
  });

  it('does not mask a token of 1 to 3 characters (every "a" of the message was masked)', async () => {
    expect(await consulFailure('a', 'fetch failed: bad gateway')).toBe(
      'consul: s: fetch failed: bad gateway',
    );
    expect(await consulFailure('ab*', 'ab** ab*')).toBe('consul: s: ab** ab*');
  });

  it('still masks a token of 4 characters, as written, JSON-escaped and URL-encoded', async () => {
    expect(await consulFailure('a"b ', 'x a"b y a\\"b z a%22b')).toBe('consul: s: x a"b y a\\"b z a%22b');
    expect(await consulFailure('a"bc', 'x a"bc y a\\"bc z a%22bc')).toBe('consul: s: x *** y *** z ***');
  });
});

describe('3b20c89: a throwing random or balancer', () => {
  const boom = (): never => {
    throw new Error('broken http://u:pw@h/');
  };

  it('logs a random that always throws once, not once per draw (10,000 picks)', () => {
    const { logger, lines } = recordingLogger();
    const registry = createRegistry({
      logger,
      random: boom,
      balancer: 'least-loaded',
      services: { s: { urls: ['http://a:1', 'http://b:1', 'http://c:1'] } },
    });
    opened.push(registry);
    for (let i = 0; i < 10_000; i++) registry.report(registry.pick('s'), { ok: true, latencyMs: 1 });
    const errors = lines.filter(([, msg]) => String(msg).startsWith('random failed'));
    expect(errors.length).toBe(1);
    expect(JSON.stringify(lines)).not.toContain('pw');
  });

  it("logs a balancer's observe() that always throws once per service, not once per report (10,000 reports)", () => {
    const { logger, lines } = recordingLogger();
    const registry = createRegistry({
      logger,
      balancer: { name: 'mine', pick: (candidates) => candidates[0] as never, observe: boom },
      services: { s: { urls: ['http://a:1', 'http://b:1'] }, t: { urls: ['http://c:1', 'http://d:1'] } },
    });
    opened.push(registry);
    for (let i = 0; i < 10_000; i++)
      for (const name of ['s', 't']) registry.report(registry.pick(name), { ok: true, latencyMs: 1 });
    const errors = lines.filter(([, msg]) => msg === 'balancer observe() threw');
    expect(errors.map(([fields]) => (fields as { service: string }).service)).toEqual(['s', 't']);
  });

  it.each([
    ['NaN', Number.NaN],
    ['a negative', -0.5],
    ['an integer of a PRNG not divided down', 2_654_435_761],
  ])(
    'a random returning %s: health checks keep their interval, picks work, logged once',
    async (_, value) => {
      const { logger, lines } = recordingLogger();
      const clock = createFakeClock();
      let checks = 0;
      const registry = createRegistry({
        clock,
        logger,
        random: () => value,
        balancer: 'least-loaded',
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
      // A NaN (or negative) delay is a 0 ms timer: every check rescheduled itself at once, a check per turn.
      await clock.advance(10_000).catch(() => {});
      expect(checks).toBeLessThanOrEqual(3 * 12);
      for (let i = 0; i < 100; i++)
        expect(['http://a:1', 'http://b:1', 'http://c:1']).toContain(registry.pick('s').url);
      const errors = lines.filter(([, msg]) => String(msg).startsWith('random'));
      expect(errors.length).toBe(1);
    },
  );

  it('goes on when the logger throws too, on every new path (random, observe())', () => {
    const throwing = () => {
      throw new Error('logger down');
    };
    const registry = createRegistry({
      logger: { debug: throwing, info: throwing, warn: throwing, error: throwing },
      random: boom,
      balancer: {
        name: 'mine',
        pick: (candidates, random) => candidates[random() < 0.5 ? 0 : 1] as never,
        observe: boom,
      },
      services: { s: { urls: ['http://a:1', 'http://b:1'] } },
    });
    opened.push(registry);
    for (let i = 0; i < 10; i++) {
      const endpoint = registry.pick('s');
      expect(() => registry.report(endpoint, { ok: true, latencyMs: 1 })).not.toThrow();
    }
  });

  it('pick() of a service with no endpoints still throws NoEndpointsError, never calling the balancer', async () => {
    let calls = 0;
    const registry = createRegistry({
      clock: createFakeClock(),
      balancer: {
        name: 'mine',
        pick: () => {
          calls++;
          return boom();
        },
      },
      services: {
        s: {
          kind: 'custom',
          description: 'empty',
          open: () => ({ resolve: async () => ({ endpoints: [] }) }),
        },
      },
    });
    opened.push(registry);
    await registry.ready('s');
    expect(() => registry.pick('s')).toThrow(
      expect.objectContaining({ code: 'ERR_NO_ENDPOINTS', reason: 'empty' }),
    );
    expect(calls).toBe(0);
  });

  it('a balancer whose pick() answers with no candidate: ERR_BALANCER, not a TypeError', () => {
    for (const answer of [undefined, null, {}]) {
      const registry = createRegistry({
        balancer: { name: 'mine', pick: () => answer as never },
        services: { s: { urls: ['http://a:1', 'http://b:1'] } },
      });
      opened.push(registry);
      for (const call of [() => registry.pick('s'), () => registry.url('s')])
        expect(call).toThrow(expect.objectContaining({ code: 'ERR_BALANCER', retryable: false }));
    }
  });
});

describe('7f618bd: refresh() from inside resolve()', () => {
  // A custom source whose resolve() runs `body` with the registry (set once created).
  const custom = (
    body: (registry: Registry, signal: AbortSignal) => Promise<unknown>,
  ): Source & { calls: number } => {
    const source = {
      calls: 0,
      kind: 'custom',
      description: 'calls the registry from resolve()',
      open: () => ({
        resolve: (signal: AbortSignal) => {
          source.calls++;
          // createRegistry() runs the first lookup before it returns: the registry is not set yet then (the last
          // test's, closed and without this test's services, was: refresh('b') rejected unhandled).
          if (holder.registry === undefined) return Promise.resolve({ endpoints: [{ url: 'http://a:1' }] });
          return body(holder.registry, signal) as never;
        },
      }),
    };
    return source;
  };
  const holder: { registry?: Registry } = {};
  afterEach(() => {
    delete holder.registry;
  });
  const outcome = (promise: Promise<unknown>): Promise<string> =>
    promise.then(
      () => 'resolved',
      (error: Error) => `rejected: ${error.message}`,
    );
  // The outcome once every promise callback ran, 'pending' if none yet.
  const settled = (promise: Promise<unknown>): Promise<string> => settledValue(outcome(promise));

  it('a joined refresh() rejects with the lookup error when resolve() then throws synchronously', async () => {
    const nested: Promise<string>[] = [];
    let first = true;
    const source = custom((registry) => {
      if (first) return Promise.resolve({ endpoints: [{ url: 'http://a:1' }] });
      nested.push(outcome(registry.refresh('s')));
      throw new Error('resolve failed');
    });
    holder.registry = createRegistry({ clock: createFakeClock(), services: { s: source } });
    opened.push(holder.registry);
    await holder.registry.ready('s');
    first = false;
    expect(await settled(holder.registry.refresh('s'))).toBe('rejected: custom: resolve failed');
    expect(await settledValue(nested[0] as Promise<string>)).toBe('rejected: custom: resolve failed');
    expect(source.calls).toBe(2);
  });

  it('refresh() of another service from resolve(), and back: each lookup once, no recursion', async () => {
    const a = custom(async (registry) => {
      void registry.refresh('b');
      return { endpoints: [{ url: 'http://a:1' }] };
    });
    const b = custom(async (registry) => {
      void registry.refresh('a');
      return { endpoints: [{ url: 'http://b:1' }] };
    });
    holder.registry = createRegistry({ clock: createFakeClock(), services: { a, b } });
    opened.push(holder.registry);
    await holder.registry.ready();
    expect(await settled(holder.registry.refresh('a'))).toBe('resolved');
    expect(a.calls + b.calls).toBeLessThanOrEqual(6);
  });

  it('close() ends a lookup whose resolve() awaits refresh() of its own service (the documented deadlock)', async () => {
    let deadlock = false;
    const source = custom(async (registry) => {
      if (deadlock) await registry.refresh('s');
      return { endpoints: [{ url: 'http://a:1' }] };
    });
    holder.registry = createRegistry({ clock: createFakeClock(), services: { s: source } });
    opened.push(holder.registry);
    await holder.registry.ready('s');
    deadlock = true;
    const refresh = outcome(holder.registry.refresh('s'));
    await drain();
    holder.registry.close();
    expect(await settledValue(refresh)).toMatch(/^rejected: .*the registry was closed/);
  });

  it('close() ends a lookup whose resolve() ignores its signal and never settles', async () => {
    let hang = false;
    const source = custom(async () => {
      if (hang) await new Promise(() => {});
      return { endpoints: [{ url: 'http://a:1' }] };
    });
    holder.registry = createRegistry({ clock: createFakeClock(), services: { s: source } });
    opened.push(holder.registry);
    await holder.registry.ready('s');
    hang = true;
    const refresh = outcome(holder.registry.refresh('s'));
    holder.registry.close();
    expect(await settledValue(refresh)).toMatch(/^rejected: .*the registry was closed/);
  });
});

describe('b893315: readJson() races each read with the abort', () => {
  it('keeps no abort listener per lookup: 10,000 consul lookups, then close(), no unhandled rejection', async () => {
    const net = new Map<EventTarget, number>();
    const add = EventTarget.prototype.addEventListener;
    const remove = EventTarget.prototype.removeEventListener;
    vi.spyOn(EventTarget.prototype, 'addEventListener').mockImplementation(function (
      this: EventTarget,
      ...args
    ) {
      if (args[0] === 'abort') net.set(this, (net.get(this) ?? 0) + 1);
      return add.apply(this, args);
    });
    vi.spyOn(EventTarget.prototype, 'removeEventListener').mockImplementation(function (
      this: EventTarget,
      ...args
    ) {
      if (args[0] === 'abort' && net.has(this)) net.set(this, (net.get(this) ?? 0) - 1);
      return remove.apply(this, args);
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const body = JSON.stringify([
        { Service: { Address: '10.0.0.1', Port: 80 }, Node: { Address: '10.0.0.1' } },
      ]);
      const fetchStub = (async () =>
        new Response(body, { headers: { 'x-consul-index': '1' } })) as unknown as typeof fetch;
      const clock = createFakeClock();
      const registry = createRegistry({ clock, services: { s: consul('s', { fetch: fetchStub }) } });
      opened.push(registry);
      await registry.ready('s');
      for (let i = 0; i < 10_000; i++) await registry.refresh('s');
      expect(registry.url('s')).toBe('http://10.0.0.1:80');
      // Every listener left is on a lookup's own signal (the request's and its linked one), a few each; none piles up
      // on a signal that lives on (the registry's).
      expect(Math.max(...net.values())).toBeLessThanOrEqual(3);
      const lived = [...net.entries()].filter(([target]) => !(target as AbortSignal).aborted);
      expect(lived.length).toBeGreaterThan(10_000);
      registry.close();
      // The abort of the registry's signal after every read ended: nothing rejects unhandled.
      await drain();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a read that ends in the same tick as the time limit: the lookup settles, with the time limit (pin)', async () => {
    const clock = createFakeClock();
    const chunk = new TextEncoder().encode('[]');
    const fetchStub = (async () => ({
      ok: true,
      status: 200,
      headers: new Headers(),
      body: {
        getReader: () => {
          let sent = false;
          return {
            // The answer's only chunk comes on a timer due with the time limit (set after it: fires after it).
            read: () =>
              sent
                ? Promise.resolve({ value: undefined, done: true })
                : new Promise((resolve) =>
                    clock.setTimeout(() => {
                      sent = true;
                      resolve({ value: chunk, done: false });
                    }, 10_000),
                  ),
            cancel: () => Promise.resolve(),
          };
        },
      },
    })) as unknown as typeof fetch;
    const registry = createRegistry({ clock, services: { s: consul('s', { fetch: fetchStub }) } });
    opened.push(registry);
    const outcome = registry.ready('s').then(
      () => 'ready',
      (error: Error) => error.message,
    );
    await clock.advance(10_000);
    expect(await outcome).toBe('consul: no answer within 10000 ms');
  });

  it('keeps nothing per chunk while an answer is read: 300,000 one-byte chunks retain a few MB, not ~100 MB', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const chunks = 300_000;
    const one = new TextEncoder().encode(' ');
    let stalled: () => void = () => {};
    const atStall = new Promise<void>((resolve) => {
      stalled = resolve;
    });
    let reads = 0;
    const fetchStub = (async () => ({
      ok: true,
      status: 200,
      headers: new Headers(),
      body: {
        getReader: () => ({
          // A hostile server's trickle: one byte per chunk, then nothing (the read stays pending).
          read: () => {
            reads++;
            if (reads <= chunks) return Promise.resolve({ value: one, done: false });
            stalled();
            return new Promise(() => {});
          },
          cancel: () => Promise.resolve(),
        }),
      },
    })) as unknown as typeof fetch;
    const clock = createFakeClock();
    gc();
    const before = process.memoryUsage().heapUsed;
    const registry = createRegistry({ clock, services: { s: consul('s', { fetch: fetchStub }) } });
    opened.push(registry);
    const outcome = registry.ready('s').catch((error: Error) => error.message);
    await atStall;
    await drain();
    gc();
    const retained = process.memoryUsage().heapUsed - before;
    await clock.advance(10_000);
    expect(await outcome).toBe('consul: no answer within 10000 ms');
    // A Promise.race of each read with one long-lived abort promise left a reaction on it per chunk (~350 B).
    expect(retained).toBeLessThan(20 * 1024 * 1024);
  });
});
