/**
 * Review round 32: cross-review of round 31's fixes (99504fd / 022de9b a draw must be a number in [0, 1), a9fda36
 * decision 0211 logged once per registry and service, 19f5584 a balancer's answer among this call's candidates).
 */

import { type Clock, isIntegError } from '@integ/core';
import {
  type Balancer,
  type BalancerName,
  consul,
  createRegistry,
  type Registry,
  type Source,
} from '@integ/discovery';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { recordingLogger } from './internal/test-servers.js';

const opened: Registry[] = [];
afterEach(() => {
  for (const registry of opened.splice(0)) registry.close();
});

// The codes pick(), url(), report() and refresh() document for valid arguments.
const documented = new Set(['ERR_NO_ENDPOINTS']);

describe('99504fd / 022de9b: every draw site takes the same checked random', () => {
  it('a random answering anything (or throwing it) never throws an undocumented error, never sets a timer of no finite delay >= 0, never rejects unhandled', async () => {
    const notDraws: unknown[] = [];
    const contract: Balancer = {
      name: 'contract',
      pick: (candidates, random) => {
        const r = random();
        // A draw handed to a balancer is a number in [0, 1), as the Balancer contract promises.
        if (!(typeof r === 'number' && r >= 0 && r < 1)) notDraws.push(r);
        return candidates[Math.floor(r * candidates.length)] as never;
      },
    };
    const balancers: (BalancerName | Balancer)[] = [
      'round-robin',
      'random',
      'weighted',
      'least-loaded',
      'peak-ewma',
    ];
    const answer = fc.oneof(
      {
        weight: 2,
        arbitrary: fc.constantFrom<unknown>(
          1,
          1 - 2 ** -53,
          -0,
          0,
          Number.MIN_VALUE,
          -Number.MIN_VALUE,
          NaN,
          Infinity,
          -Infinity,
        ),
      },
      // What passes a range check that coerces: 0n threw in a health check's timer; the rest reached a balancer.
      {
        weight: 2,
        arbitrary: fc.constantFrom<unknown>(0n, null, false, '', '0.5', [], [0], Object(0.5), new Date(0)),
      },
      fc.anything({
        withBigInt: true,
        withBoxedValues: true,
        withDate: true,
        withMap: true,
        withSet: true,
        withNullPrototype: true,
        withTypedArray: true,
        withSparseArray: true,
      }),
      fc.double(),
    );
    const draws = fc.array(fc.record({ throws: fc.boolean(), value: answer }), {
      minLength: 1,
      maxLength: 6,
    });
    const ops = fc.array(
      fc.oneof(
        fc.record({ op: fc.constant('pick' as const), service: fc.nat(2) }),
        fc.record({
          op: fc.constant('report' as const),
          ok: fc.boolean(),
          latencyMs: fc.nat(5_000),
          status: fc.constantFrom(undefined, 200, 503),
        }),
        fc.record({ op: fc.constant('refresh' as const) }),
        fc.record({ op: fc.constant('advance' as const), ms: fc.nat(40_000) }),
      ),
      { minLength: 1, maxLength: 60 },
    );
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      await fc.assert(
        fc.asyncProperty(
          draws,
          // The built-ins clamp; a balancer following the contract uses the draw as given.
          fc.oneof(
            { weight: 5, arbitrary: fc.constant<BalancerName | Balancer>(contract) },
            fc.constantFrom(...balancers),
          ),
          ops,
          async (answers, balancer, program) => {
            unhandled.length = 0;
            notDraws.length = 0;
            const fake = createFakeClock();
            const delays: number[] = [];
            const clock: Clock = {
              now: () => fake.now(),
              setTimeout: (fn, ms) => {
                delays.push(ms as number);
                return fake.setTimeout(fn, ms);
              },
              clearTimeout: (handle) => fake.clearTimeout(handle),
            };
            let i = 0;
            const { logger, lines } = recordingLogger();
            const dynamic: Source = {
              kind: 'test',
              description: 'test',
              open: () => ({
                resolve: async () => ({
                  endpoints: [{ url: 'http://d1:1' }, { url: 'http://d2:1', weight: 3 }],
                  ttlMs: 5_000,
                }),
              }),
            };
            const registry = createRegistry({
              clock,
              logger,
              random: () => {
                const { throws, value } = answers[i++ % answers.length] as {
                  throws: boolean;
                  value: unknown;
                };
                if (throws) throw value;
                return value as number;
              },
              balancer,
              healthCheck: { interval: 1_000, jitter: 1, check: async () => true },
              outlierDetection: { consecutive5xx: 2, enforcingConsecutive5xx: 50, interval: 1_000 },
              services: {
                a: { urls: ['http://a1:1', 'http://a2:1', 'http://a3:1'] },
                b: dynamic,
                c: { urls: ['http://c1:1', 'http://c2:1'] },
              },
            });
            opened.push(registry);
            const names = ['a', 'b', 'c'] as const;
            let last = registry.pick('a');
            registry.report(last, { ok: true, latencyMs: 1 });
            for (const step of program) {
              try {
                if (step.op === 'pick')
                  for (let n = 0; n < 5; n++) last = registry.pick(names[step.service] as string);
                else if (step.op === 'report')
                  registry.report(last, {
                    ok: step.ok,
                    latencyMs: step.latencyMs,
                    ...(step.status === undefined ? {} : { status: step.status }),
                  });
                else if (step.op === 'refresh') await registry.refresh('b');
                else await fake.advance(step.ms);
              } catch (error) {
                if (!(isIntegError(error) && documented.has(error.code))) throw error;
              }
            }
            registry.close();
            // A rejection of this run is reported before the next one starts.
            await new Promise((resolve) => setImmediate(resolve));
            for (const ms of delays) {
              expect(Number.isFinite(ms)).toBe(true);
              expect(ms).toBeGreaterThanOrEqual(0);
            }
            // Logged once per registry whatever came.
            expect(lines.filter(([, msg]) => String(msg).startsWith('random')).length).toBeLessThanOrEqual(1);
            expect(unhandled).toEqual([]);
            expect(notDraws).toEqual([]);
          },
        ),
        { seed: 32, numRuns: 150 },
      );
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('a9fda36: logged once per registry and per service (decision 0211)', () => {
  const broken = (): number => {
    throw new Error('entropy source down');
  };
  const randomLines = (lines: unknown[][]): number =>
    lines.filter(([, msg]) => msg === 'random failed; used Math.random').length;

  it('per registry instance: two registries sharing one broken random and one logger log a line each', () => {
    const { logger, lines } = recordingLogger();
    const services = { s: { urls: ['http://a:1', 'http://b:1'] } };
    const one = createRegistry({ logger, random: broken, balancer: 'random', services });
    const two = createRegistry({ logger, random: broken, balancer: 'random', services });
    opened.push(one, two);
    for (let i = 0; i < 50; i++) {
      one.pick('s');
      two.pick('s');
    }
    expect(randomLines(lines)).toBe(2);
  });

  it('a registry created after close() of the last one logs its own first line (a restart is a new registry)', () => {
    const { logger, lines } = recordingLogger();
    const services = { s: { urls: ['http://a:1', 'http://b:1'] } };
    const first = createRegistry({ logger, random: broken, balancer: 'random', services });
    for (let i = 0; i < 50; i++) first.pick('s');
    first.close();
    expect(randomLines(lines)).toBe(1);
    const second = createRegistry({ logger, random: broken, balancer: 'random', services });
    opened.push(second);
    for (let i = 0; i < 50; i++) second.pick('s');
    expect(randomLines(lines)).toBe(2);
  });

  it("observe(): the state is the service's, kept while its endpoints leave and come back (the fault is the balancer's, not an endpoint's)", async () => {
    const { logger, lines } = recordingLogger();
    let answer = ['http://a:1', 'http://b:1'];
    const source: Source = {
      kind: 'test',
      description: 'test',
      open: () => ({ resolve: async () => ({ endpoints: answer.map((url) => ({ url })) }) }),
    };
    const registry = createRegistry({
      logger,
      minInterval: 0,
      balancer: {
        name: 'mine',
        pick: (candidates) => candidates[0] as never,
        observe: () => {
          throw new Error('observe failed');
        },
      },
      services: { s: source },
    });
    opened.push(registry);
    const observeLines = (): number => lines.filter(([, msg]) => msg === 'balancer observe() threw').length;
    await registry.ready('s');
    registry.report(registry.pick('s'), { ok: true, latencyMs: 1 });
    expect(observeLines()).toBe(1);
    // Every endpoint removed, then new ones and the old ones back: the service (and its state) stays.
    answer = [];
    await registry.refresh('s');
    answer = ['http://c:1', 'http://d:1'];
    await registry.refresh('s');
    registry.report(registry.pick('s'), { ok: true, latencyMs: 1 });
    answer = ['http://a:1', 'http://b:1'];
    await registry.refresh('s');
    for (let i = 0; i < 20; i++) registry.report(registry.pick('s'), { ok: false, latencyMs: 1 });
    expect(registry.endpoints('s').map((e) => e.url)).toEqual(['http://a:1', 'http://b:1']);
    expect(observeLines()).toBe(1);
  });
});

describe('19f5584: a balancer answering an endpoint the service no longer has', () => {
  const changing = (urls: { current: string[] }): Source => ({
    kind: 'custom',
    description: 'changing',
    open: () => ({ resolve: async () => ({ endpoints: urls.current.map((url) => ({ url })) }) }),
  });

  it('an EndpointLoad kept from an answer the service no longer has throws ERR_BALANCER (its URL is not handed out)', async () => {
    let kept: unknown;
    const urls = { current: ['http://a:1', 'http://b:1'] };
    const registry = createRegistry({
      clock: createFakeClock(),
      balancer: {
        name: 'sticky',
        pick: (candidates) => {
          kept ??= candidates[0];
          return kept as never;
        },
      },
      services: { s: changing(urls) },
    });
    opened.push(registry);
    await registry.ready('s');
    expect(registry.pick('s').url).toBe('http://a:1');
    // a:1 leaves (its address may go to another service): a balancer still answering it is told, not obeyed.
    urls.current = ['http://c:1', 'http://d:1'];
    await registry.refresh('s');
    expect(() => registry.pick('s')).toThrow(
      expect.objectContaining({ code: 'ERR_BALANCER', message: expect.stringContaining('sticky') }),
    );
    expect(() => registry.url('s')).toThrow(expect.objectContaining({ code: 'ERR_BALANCER' }));
    expect(registry.inspect('s').endpoints.map((e) => [e.url, e.load.inflight])).toEqual([
      ['http://c:1', 0],
      ['http://d:1', 0],
    ]);
    // Back in the answer, a:1 is a new endpoint: the one kept from before is still no candidate.
    urls.current = ['http://a:1', 'http://c:1'];
    await registry.refresh('s');
    expect(() => registry.pick('s')).toThrow(expect.objectContaining({ code: 'ERR_BALANCER' }));
  });

  it("an object made up by the balancer, or another service's endpoint, throws ERR_BALANCER", () => {
    let foreign: unknown;
    const made = { endpoint: { url: 'http://evil:1', service: 's' }, inflight: 0 };
    let answer: 'made' | 'foreign' = 'made';
    const registry = createRegistry({
      balancer: () => ({
        name: 'odd',
        // t's answers its own first candidate, kept; s's answers a made-up object, then t's.
        pick: (candidates) => {
          if (candidates[0]?.endpoint.service === 't') {
            foreign = candidates[0];
            return foreign as never;
          }
          return (answer === 'made' ? made : foreign) as never;
        },
      }),
      services: { s: { urls: ['http://a:1', 'http://b:1'] }, t: { urls: ['http://a:1', 'http://b:1'] } },
    });
    opened.push(registry);
    expect(() => registry.pick('s')).toThrow(expect.objectContaining({ code: 'ERR_BALANCER' }));
    expect(registry.pick('t').url).toBe('http://a:1');
    answer = 'foreign';
    // s's balancer answers t's state of the same URL: not s's, so s's load would not count it.
    expect(() => registry.pick('s')).toThrow(expect.objectContaining({ code: 'ERR_BALANCER' }));
  });

  it('an endpoint the service still has, kept from an earlier call, is used as given (no search among the candidates)', async () => {
    let kept: unknown;
    const urls = { current: ['http://a:1', 'http://b:1'] };
    const registry = createRegistry({
      clock: createFakeClock(),
      balancer: {
        name: 'sticky',
        pick: (candidates) => {
          kept ??= candidates[0];
          return kept as never;
        },
      },
      services: { s: changing(urls) },
    });
    opened.push(registry);
    await registry.ready('s');
    registry.pick('s');
    urls.current = ['http://a:1', 'http://c:1'];
    await registry.refresh('s');
    expect(registry.pick('s').url).toBe('http://a:1');
  });
});

describe('the registry signal every lookup in flight listens on', () => {
  it('12 consul services with a blocking query each in flight: no MaxListenersExceededWarning from Node', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(`${warning.name}: ${warning.message}`);
    };
    process.on('warning', onWarning);
    try {
      let inFlight = 0;
      // A blocking query that does not answer, as Consul holds one up to its wait time.
      const hang: typeof fetch = (_url, init) =>
        new Promise((_, reject) => {
          inFlight++;
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason), { once: true });
        });
      const services = Object.fromEntries(
        Array.from({ length: 12 }, (_, i) => [`s${i}`, consul(`s${i}`, { fetch: hang })]),
      );
      const registry = createRegistry({ clock: createFakeClock(), services });
      opened.push(registry);
      for (let i = 0; i < 5 && inFlight < 12; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(inFlight).toBe(12);
      registry.close();
      // process.emitWarning reports on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it.each([
    ['no process.getBuiltinModule (an older runtime)', undefined],
    [
      'a setMaxListeners that refuses the signal (a runtime whose signals are no Node EventTarget)',
      () => ({
        setMaxListeners: () => {
          throw new TypeError(
            'The "eventTargets" argument must be an instance of EventEmitter or EventTarget',
          );
        },
      }),
    ],
  ])('%s: createRegistry() still works (lifting the limit is best effort)', (_, stand) => {
    const original = process.getBuiltinModule;
    (process as { getBuiltinModule: unknown }).getBuiltinModule = stand;
    try {
      const registry = createRegistry({ services: { s: { urls: ['http://a:1', 'http://b:1'] } } });
      opened.push(registry);
      expect(registry.url('s')).toBe('http://a:1');
    } finally {
      process.getBuiltinModule = original;
    }
  });
});
