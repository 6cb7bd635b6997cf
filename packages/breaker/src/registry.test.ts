import { createBreakerRegistry, slidingWindow } from '@integ/breaker';
import { InvalidArgumentError } from '@integ/core';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';

const fail = (): Promise<never> => Promise.reject(new Error('x'));

describe('createBreakerRegistry', () => {
  it('creates a breaker per key on first use and returns the same one after', async () => {
    const registry = createBreakerRegistry({ clock: createFakeClock(), options: { failureThreshold: 1 } });
    const a = registry.get('api.example.com');
    expect(registry.get('api.example.com')).toBe(a);
    await registry.execute('api.example.com', fail).catch(() => {});
    expect(a.state).toBe('open');
    expect(registry.get('other.example.com').state).toBe('closed');
    expect(registry.size).toBe(2);
    expect(registry.has('api.example.com')).toBe(true);
    expect(Object.keys(registry.snapshot())).toEqual(['api.example.com', 'other.example.com']);
  });

  it('takes per-key options from a function', () => {
    const options = vi.fn((key: string) => ({ failureThreshold: key.length }));
    const registry = createBreakerRegistry({ clock: createFakeClock(), options });
    registry.get('abc');
    expect(options).toHaveBeenCalledWith('abc');
  });

  it('execute() rejects, not throws, when the per-key options are invalid', async () => {
    const registry = createBreakerRegistry({
      clock: createFakeClock(),
      options: (key) => ({ failureThreshold: key === 'bad' ? 0 : 1 }),
    });
    let result: Promise<unknown> | undefined;
    expect(() => {
      result = registry.execute('bad', () => 1);
    }).not.toThrow();
    await expect(result).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(registry.has('bad')).toBe(false);
    await expect(registry.execute('good', () => 1)).resolves.toBe(1);
  });

  it('stays bounded under 100,000 distinct keys', async () => {
    const clock = createFakeClock();
    const evicted = vi.fn();
    const registry = createBreakerRegistry({ clock, maxSize: 1_000, onEvict: evicted });
    let max = 0;
    for (let i = 0; i < 100_000; i++) {
      await registry.execute(`tenant-${i}`, () => i);
      max = Math.max(max, registry.size);
      if (i % 1_000 === 0) clock.advanceSync(1);
    }
    expect(max).toBe(1_000);
    expect(registry.size).toBe(1_000);
    expect(evicted).toHaveBeenCalledTimes(99_000);
    // The most recently used keys are the ones kept.
    expect(registry.has('tenant-99999')).toBe(true);
    expect(registry.has('tenant-0')).toBe(false);
  });

  it('stays bounded when 100,000 distinct keys all fail: evicted open breakers hold no timer', async () => {
    const clock = createFakeClock();
    const registry = createBreakerRegistry({ clock, maxSize: 100, options: { failureThreshold: 1 } });
    for (let i = 0; i < 100_000; i++) await registry.execute(`down-${i}`, fail).catch(() => {});
    expect(registry.size).toBe(100);
    // Nothing outside the registry references an evicted breaker: no open -> half-open timer per breaker.
    expect(clock.pendingTimers).toBe(0);
    const kept = registry.get('down-99999');
    expect(kept.state).toBe('open');
    await clock.advance(60_000);
    expect(kept.state).toBe('half-open');
    // CPU work on the fake clock only: the limit only catches a hang. Up to 13.2 s of the default 20 s with two busy
    // loops on the 2 shared cores; nothing in it waits on real time.
  }, 120_000);

  it('stays bounded when distinct keys all fail with onStateChange set: an evicted breaker keeps no open timer', async () => {
    const clock = createFakeClock();
    const changes: string[] = [];
    const registry = createBreakerRegistry({
      clock,
      maxSize: 100,
      options: (key) => ({ failureThreshold: 1, onStateChange: (to) => changes.push(`${key} ${to}`) }),
    });
    const first = registry.get('down-0');
    for (let i = 0; i < 10_000; i++) await registry.execute(`down-${i}`, fail).catch(() => {});
    expect(registry.size).toBe(100);
    // Only the held breakers have a timer: an evicted one is not kept alive by its own timer for openFor.
    expect(clock.pendingTimers).toBe(100);
    expect(first.state).toBe('open');
    await clock.advance(60_000);
    expect(changes.filter((change) => change.endsWith('half-open'))).toHaveLength(100);
    // An evicted breaker still held by the caller works on: it moves when next looked at.
    expect(first.state).toBe('half-open');
    expect(changes.at(-1)).toBe('down-0 half-open');
  });

  it('a breaker evicted mid-call arms no timer when that call then trips it', async () => {
    const clock = createFakeClock();
    const registry = createBreakerRegistry({
      clock,
      maxSize: 10,
      options: { failureThreshold: 1, onStateChange: () => {} },
    });
    const ends: ((error: Error) => void)[] = [];
    const calls = Array.from({ length: 1_000 }, (_, i) =>
      registry.execute(`slow-${i}`, () => new Promise((_, reject) => ends.push(reject))).catch(() => {}),
    );
    for (const end of ends) end(new Error('gateway timeout'));
    await Promise.all(calls);
    expect(registry.size).toBe(10);
    expect(clock.pendingTimers).toBeLessThanOrEqual(10);
  });

  it('keeps open breakers over closed ones when it must evict', async () => {
    const registry = createBreakerRegistry({
      clock: createFakeClock(),
      maxSize: 3,
      options: { failureThreshold: 1 },
    });
    await registry.execute('down', fail).catch(() => {});
    for (const key of ['a', 'b', 'c', 'd']) registry.get(key);
    expect(registry.has('down')).toBe(true);
    expect(registry.get('down').state).toBe('open');
    expect(registry.size).toBe(3);
  });

  it('evicts closed breakers idle for idleFor on the clock, and keeps open ones', async () => {
    const clock = createFakeClock();
    const registry = createBreakerRegistry({
      clock,
      idleFor: 60_000,
      options: { failureThreshold: 1, openFor: 3_600_000 },
    });
    registry.get('idle-1');
    registry.get('idle-2');
    await registry.execute('down', fail).catch(() => {});
    await clock.advance(30_000);
    registry.get('busy');
    await clock.advance(30_000);
    registry.get('busy');
    expect(registry.has('idle-1')).toBe(false);
    expect(registry.has('idle-2')).toBe(false);
    expect(registry.has('down')).toBe(true);
    expect(registry.has('busy')).toBe(true);
    await clock.advance(60_000);
    expect(registry.prune()).toBe(1);
    expect(registry.size).toBe(1);
  });

  it('keeps a breaker whose call through execute() runs longer than idleFor, and counts its outcome in it', async () => {
    const clock = createFakeClock();
    const evicted = vi.fn();
    const registry = createBreakerRegistry({ clock, idleFor: 60_000, onEvict: evicted });
    let end: (error: Error) => void = () => {};
    const call = registry.execute('stream', () => new Promise((_, reject) => (end = reject)));
    const breaker = registry.get('stream');
    await clock.advance(1);
    registry.get('quiet');
    await clock.advance(120_000);
    // A use sweeps past the busy breaker and evicts the idle one behind it; prune() keeps it too.
    registry.get('other');
    expect(registry.has('quiet')).toBe(false);
    expect(registry.prune()).toBe(0);
    expect(registry.has('stream')).toBe(true);
    expect(evicted.mock.calls.map(([key]) => key)).toEqual(['quiet']);
    end(new Error('reset by peer'));
    await expect(call).rejects.toThrow('reset by peer');
    expect(registry.get('stream')).toBe(breaker);
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 1, failures: 1 });
    expect(evicted).toHaveBeenCalledTimes(1);
  });

  it('counts idleFor from the end of the last call through execute()', async () => {
    const clock = createFakeClock();
    const evicted = vi.fn();
    const registry = createBreakerRegistry({ clock, idleFor: 60_000, onEvict: evicted });
    let end: (value: number) => void = () => {};
    const call = registry.execute('upload', () => new Promise<number>((resolve) => (end = resolve)));
    const breaker = registry.get('upload');
    await clock.advance(100_000);
    end(1);
    await expect(call).resolves.toBe(1);
    await clock.advance(59_999);
    expect(registry.prune()).toBe(0);
    await clock.advance(1);
    expect(registry.prune()).toBe(1);
    expect(evicted).toHaveBeenCalledWith('upload', breaker);
  });

  it('ends a call once whether fn returns, rejects or throws synchronously', async () => {
    const clock = createFakeClock();
    const registry = createBreakerRegistry({ clock, idleFor: 1_000 });
    const ends: [string, () => unknown][] = [
      [
        'throws',
        () => {
          throw new Error('sync');
        },
      ],
      ['rejects', () => Promise.reject(new Error('async'))],
      ['returns', () => 1],
      ['resolves', () => Promise.resolve(1)],
    ];
    for (const [how, fn] of ends) {
      await registry.execute(how, fn).catch(() => {});
      // Not released: never idle again. Released twice: the next long call would not hold it.
      let end: () => void = () => {};
      const long = registry.execute(how, () => new Promise<void>((resolve) => (end = resolve)));
      await clock.advance(5_000);
      expect(registry.prune(), `${how}: held while the next call runs`).toBe(0);
      end();
      await long;
      await clock.advance(1_000);
      expect(registry.prune(), `${how}: idle after it`).toBe(1);
    }
  });

  it('past maxSize evicts a closed breaker without a call in flight first, and stays bounded when all are busy', async () => {
    const clock = createFakeClock();
    const evicted = vi.fn();
    const registry = createBreakerRegistry({ clock, maxSize: 3, onEvict: evicted });
    const ends: (() => void)[] = [];
    const hang = (key: string): Promise<void> =>
      registry.execute(key, () => new Promise<void>((resolve) => ends.push(resolve)));
    const calls = [hang('busy-1')];
    registry.get('free');
    calls.push(hang('busy-2'), hang('busy-3'));
    expect(evicted.mock.calls.map(([key]) => key)).toEqual(['free']);
    // Every breaker held has a call in flight: the oldest goes anyway, because the bound is a promise too.
    for (let i = 4; i < 1_000; i++) {
      calls.push(hang(`busy-${i}`));
      expect(registry.size).toBe(3);
    }
    expect(evicted).toHaveBeenCalledTimes(997);
    expect(evicted).toHaveBeenNthCalledWith(2, 'busy-1', expect.anything());
    for (const end of ends) end();
    await Promise.all(calls);
    expect(Object.keys(registry.snapshot())).toEqual(['busy-997', 'busy-998', 'busy-999']);
  });

  it("snapshot() keeps a '__proto__' key as its own entry, and JSON carries it", async () => {
    const registry = createBreakerRegistry({ clock: createFakeClock(), options: { failureThreshold: 1 } });
    await registry.execute('__proto__', fail).catch(() => {});
    registry.get('constructor');
    const snapshot = registry.snapshot();
    expect(Object.getPrototypeOf(snapshot)).toBe(Object.prototype);
    expect(Object.keys(snapshot)).toEqual(['__proto__', 'constructor']);
    expect(Object.hasOwn(snapshot, '__proto__')).toBe(true);
    expect((snapshot as { state?: unknown }).state).toBeUndefined();
    const stored = JSON.parse(JSON.stringify(snapshot)) as Record<string, { state: string }>;
    expect(Object.keys(stored)).toEqual(['__proto__', 'constructor']);
    expect(Object.entries(stored)[0]).toEqual(['__proto__', expect.objectContaining({ state: 'open' })]);
  });

  it("keeps keys apart that name Object.prototype members ('__proto__', 'toString'), '', and long ones", async () => {
    const registry = createBreakerRegistry({ clock: createFakeClock(), options: { failureThreshold: 1 } });
    const long = 'x'.repeat(100_000);
    const keys = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '', `${long}a`, `${long}b`];
    const breakers = keys.map((key) => registry.get(key));
    expect(new Set(breakers).size).toBe(keys.length);
    await registry.execute('__proto__', fail).catch(() => {});
    expect(keys.map((key) => registry.get(key).state)).toEqual([
      'open',
      ...keys.slice(1).map(() => 'closed'),
    ]);
    expect(registry.size).toBe(keys.length);
  });

  it('refuses a key that is not a string with InvalidArgumentError (get throws, execute rejects)', async () => {
    const registry = createBreakerRegistry({ clock: createFakeClock() });
    registry.get('1');
    for (const key of [1, {}, Symbol('k'), undefined, null, ['a']]) {
      expect(() => registry.get(key as never)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'key' }),
      );
      await expect(registry.execute(key as never, () => 1)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        argument: 'key',
      });
    }
    expect(registry.size).toBe(1);
  });

  it('delete and clear forget breakers', () => {
    const registry = createBreakerRegistry({ clock: createFakeClock() });
    const first = registry.get('k');
    expect(registry.delete('k')).toBe(true);
    expect(registry.get('k')).not.toBe(first);
    registry.clear();
    expect(registry.size).toBe(0);
  });

  it('delete and clear do not disarm: a breaker still held keeps its onStateChange on time (its timer fires once)', async () => {
    // Disarming would make the hook of a breaker the caller still holds fire only when next looked at.
    for (const forget of ['delete', 'clear'] as const) {
      const clock = createFakeClock();
      const seen: string[] = [];
      const registry = createBreakerRegistry({
        clock,
        options: { failureThreshold: 1, openFor: 1_000, onStateChange: (to) => seen.push(to) },
      });
      await registry.execute('k', fail).catch(() => {});
      const held = registry.get('k');
      if (forget === 'delete') registry.delete('k');
      else registry.clear();
      expect(clock.pendingTimers, forget).toBe(1);
      await clock.advance(1_000);
      expect(seen, forget).toEqual(['open', 'half-open']);
      expect(clock.pendingTimers, forget).toBe(0);
      // Still a working breaker: a failed probe opens it, and the hook fires on time again.
      await held.execute(fail).catch(() => {});
      await clock.advance(1_000);
      expect(seen, forget).toEqual(['open', 'half-open', 'open', 'half-open']);
    }
  });

  it('rejects bad limits', () => {
    expect(() => createBreakerRegistry({ maxSize: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
    expect(() => createBreakerRegistry({ idleFor: -1 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
  });

  it('throws InvalidArgumentError from createBreakerRegistry itself for wrong breaker options', () => {
    // Before: the registry was created, and the first get() or execute() of the first request failed.
    for (const [argument, options] of [
      ['failureThreshold', { failureThreshold: -1 }],
      ['openFor', { openFor: '5000' }],
      ['onStateChange', { onStateChange: 'log' }],
      ['window', { window: slidingWindow }],
      ['initialState', { initialState: { state: 'ajar' } }],
    ] as const)
      expect(() => createBreakerRegistry({ clock: createFakeClock(), options: options as never })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument }),
      );
  });

  it('checking the options up front leaves no timer and calls no hook', () => {
    const clock = createFakeClock();
    const onStateChange = vi.fn();
    const registry = createBreakerRegistry({
      clock,
      options: { onStateChange, initialState: { state: 'open', trips: 1 } },
    });
    expect(clock.pendingTimers).toBe(0);
    expect(onStateChange).not.toHaveBeenCalled();
    expect(registry.size).toBe(0);
  });

  it('refuses options that are neither breaker options nor a function of the key', () => {
    for (const options of [5, 'failureThreshold=3', true])
      expect(() => createBreakerRegistry({ options: options as never })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'options' }),
      );
  });
});

describe('createBreakerRegistry under a flood of distinct keys', () => {
  // Decision 0023: a use looks at the 8 oldest entries only. With those 8 busy (a call in flight through
  // execute) or open, neither the sweep nor the idle rule can free anything: the bound must still hold,
  // and no breaker the registry let go may stay alive through a timer.
  it('never holds more than maxSize breakers, nor timers beyond the held breakers and the probes in flight', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.constantFrom('busy' as const, 'open' as const), { minLength: 8, maxLength: 8 }),
        fc.array(
          fc.record({
            fn: fc.constantFrom('ok' as const, 'fail' as const, 'hang' as const),
            // A new key, or one of the last few (so some breakers trip and go half-open while held).
            reuse: fc.option(fc.nat({ max: 5 }), { nil: undefined }),
            advance: fc.constantFrom(0, 0, 1, 30, 61_000),
            // Ends the oldest call in flight, which may trip a breaker evicted since it started.
            end: fc.constantFrom(undefined, undefined, 'ok' as const, 'fail' as const),
          }),
          { minLength: 1, maxLength: 300 },
        ),
        async (maxSize, oldest, steps) => {
          const clock = createFakeClock();
          const registry = createBreakerRegistry({
            clock,
            maxSize,
            idleFor: 50,
            options: { failureThreshold: 1, onStateChange: () => {}, probeTimeout: 100_000 },
          });
          const ends: ((failed?: boolean) => void)[] = [];
          const calls: Promise<unknown>[] = [];
          let hanging = 0;
          const hang = (key: string): void => {
            calls.push(
              registry
                .execute(key, () => {
                  hanging++;
                  return new Promise<void>((resolve, reject) =>
                    ends.push((failed) => {
                      hanging--;
                      if (failed) reject(new Error('late'));
                      else resolve();
                    }),
                  );
                })
                .catch(() => {}),
            );
          };
          const check = (what: string): void => {
            expect(registry.size, what).toBeLessThanOrEqual(maxSize);
            // Each held breaker: at most its open timer; each call in flight: at most its probe timer.
            expect(clock.pendingTimers, what).toBeLessThanOrEqual(registry.size + hanging);
          };
          for (const [i, kind] of oldest.entries()) {
            if (kind === 'busy') hang(`old-${i}`);
            else await registry.execute(`old-${i}`, fail).catch(() => {});
            check(`old-${i}`);
          }
          for (const [i, { fn, reuse, advance, end }] of steps.entries()) {
            const key = `k-${reuse === undefined ? i : Math.max(0, i - reuse)}`;
            if (fn === 'hang') hang(key);
            else await registry.execute(key, fn === 'ok' ? () => 1 : fail).catch(() => {});
            check(`step ${i}`);
            if (advance) await clock.advance(advance);
            check(`step ${i} + ${advance} ms`);
            if (end) {
              ends.shift()?.(end === 'fail');
              await Promise.resolve();
              await Promise.resolve();
              check(`step ${i}, a call ended`);
            }
          }
          for (const end of ends) end();
          await Promise.all(calls);
          check('all settled');
        },
      ),
      { seed: 20_231, numRuns: 200 },
    );
  });
});

describe('createBreakerRegistry: per-key options that throw', () => {
  it('get throws the error and execute rejects with it; nothing is held, and the next use asks again', async () => {
    const clock = createFakeClock();
    const error = new Error('no config for this tenant');
    let broken = true;
    const options = vi.fn(() => {
      if (broken) throw error;
      return { failureThreshold: 1 };
    });
    const registry = createBreakerRegistry({ clock, options });
    expect(() => registry.get('t1')).toThrow(error);
    let call: Promise<unknown> | undefined;
    expect(() => {
      call = registry.execute('t1', () => 1);
    }).not.toThrow();
    await expect(call).rejects.toBe(error);
    expect(registry.size).toBe(0);
    broken = false;
    await expect(registry.execute('t1', () => 1)).resolves.toBe(1);
    expect(registry.get('t1').state).toBe('closed');
    expect(options).toHaveBeenCalledTimes(3);
  });
});

describe('createBreakerRegistry: an onEvict that uses the registry', () => {
  // Decision 0122. Before: with the registry full, each key the hook made evicted another, whose onEvict
  // made another, and get() did not return (the guard below stops the hook after 10,000 calls).
  const GUARD = 10_000;

  it('a hook that makes a new key per eviction is called once, and the registry stays within maxSize', async () => {
    let calls = 0;
    const registry = createBreakerRegistry({
      clock: createFakeClock(),
      maxSize: 3,
      onEvict: (key) => {
        if (++calls < GUARD) registry.get(`${key}+`);
      },
    });
    for (const key of ['a', 'b', 'c']) registry.get(key);
    const d = registry.get('d');
    expect(calls).toBe(1);
    expect(registry.size).toBe(3);
    expect(registry.has('a+')).toBe(true);
    expect(registry.get('d')).toBe(d);
    await expect(d.execute(() => 'ok')).resolves.toBe('ok');
  });

  it('a hook that re-creates the evicted key is called once per eviction the caller made', async () => {
    let calls = 0;
    const evicted: string[] = [];
    const registry = createBreakerRegistry({
      clock: createFakeClock(),
      maxSize: 3,
      onEvict: (key, breaker) => {
        evicted.push(key);
        if (++calls < GUARD) registry.get(key);
        // The breaker handed to the hook still works for whoever holds it.
        void breaker.execute(() => 'still usable');
      },
    });
    for (const key of ['a', 'b', 'c', 'd', 'e']) registry.get(key);
    expect(evicted).toEqual(['a', 'c']);
    expect(registry.size).toBe(3);
    for (const key of Object.keys(registry.snapshot()))
      await expect(registry.execute(key, () => key)).resolves.toBe(key);
  });

  it('prune() with idleFor 0 and a hook that makes a new key ends, once per breaker it evicted', () => {
    let calls = 0;
    const registry = createBreakerRegistry({
      clock: createFakeClock(),
      idleFor: 0,
      onEvict: (key) => {
        if (++calls < GUARD) registry.get(`${key}+`);
      },
    });
    registry.get('a');
    // Before: the key the hook made joined the map prune() was walking, idle for 0 ms, and was evicted too.
    expect(registry.prune()).toBe(1);
    expect(calls).toBe(1);
    expect(Object.keys(registry.snapshot())).toEqual(['a+']);
  });

  it('any hook that uses the registry: every call ends, a get returns the breaker held, size <= maxSize', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat({ max: 20 }), { minLength: 1, maxLength: 30 }),
        async (maxSize, perEviction, keys) => {
          let calls = 0;
          let fresh = 0;
          const used: string[] = []; // keys the hook got, in order
          const registry = createBreakerRegistry({
            clock: createFakeClock(),
            maxSize,
            onEvict: (key) => {
              if (++calls >= GUARD) return;
              // Some new keys, some old ones, the evicted key itself, and a prune.
              for (let i = perEviction[calls % perEviction.length]!; i > 0; i--) {
                const next = i === 1 ? key : i === 2 ? `k${calls % 21}` : `new${fresh++}`;
                used.push(next);
                registry.get(next);
              }
              if (calls % 5 === 0) registry.prune();
            },
          });
          for (const k of keys) {
            calls = 0;
            used.length = 0;
            const key = `k${k}`;
            const breaker = registry.get(key);
            // One use evicts at most 8 idle breakers (the sweep) and one more to make room.
            expect(calls).toBeLessThanOrEqual(9);
            expect(registry.size).toBeLessThanOrEqual(maxSize);
            // The hook's gets come after this one: like any later uses, maxSize other keys push it out.
            const later = new Set(used.slice(used.lastIndexOf(key) + 1));
            if (later.size < maxSize) expect(registry.get(key)).toBe(breaker);
            await expect(breaker.execute(() => k)).resolves.toBe(k);
          }
        },
      ),
      { seed: 122, numRuns: 300 },
    );
  });
});

describe('createBreakerRegistry: an onStateChange that uses the registry', () => {
  // Reading `.state` moves an open breaker whose period has ended to half-open and runs its onStateChange.
  // With its timer late (a throttled timer; here setNow, which fires nothing), the registry's own search
  // for a victim did that read, and a hook that got a key changed the map under the search.
  async function full(hookKey: string, options: (key: string) => object = () => ({})) {
    const clock = createFakeClock();
    const evicted: string[] = [];
    let got: unknown;
    const registry = createBreakerRegistry({
      clock,
      maxSize: 2,
      onEvict: (key) => evicted.push(key),
      options: (key) => ({
        failureThreshold: 1,
        openFor: 1_000,
        ...(key === 'a' && {
          onStateChange: (to: string) => {
            if (to === 'half-open') got = registry.get(hookKey);
          },
        }),
        ...options(key),
      }),
    });
    const a = registry.get('a');
    await registry.execute('a', fail).catch(() => {});
    await registry.execute('b', fail).catch(() => {});
    clock.setNow(clock.now() + 5_000);
    return { registry, evicted, a, got: () => got };
  }

  it('the victim search runs no hook: the key a hook gets when the breaker is next looked at is held', async () => {
    const { registry, evicted, a, got } = await full('x');
    registry.get('c');
    // Room for one key: the oldest of two open breakers goes. Before, the search moved `a` to half-open,
    // its hook's get('x') evicted `a`, and the search went on to evict 'x', just handed to the hook.
    expect(evicted).toEqual(['a']);
    expect(Object.keys(registry.snapshot())).toEqual(['b', 'c']);
    // Whoever holds `a` sees it half-open; its hook runs then, outside any search, and gets a held breaker.
    expect(a.state).toBe('half-open');
    expect(registry.has('x')).toBe(true);
    expect(registry.get('x')).toBe(got());
  });

  it('evicts only what it needs and reports each breaker once when the hook gets an open breaker', async () => {
    const { registry, evicted } = await full('x', (key) =>
      key === 'x' ? { initialState: { state: 'open' } } : {},
    );
    registry.get('c');
    // Before: ['a', 'a', 'b']: the search evicted 'a' again after the hook's get had, then 'b' as well.
    expect(evicted).toEqual(['a']);
    expect(Object.keys(registry.snapshot())).toEqual(['b', 'c']);
  });

  it('snapshot() reports the breakers held when it was called, though a hook it runs evicts one and gets another', async () => {
    // 'b' closed: the hook's get('x') evicts it to make room, while snapshot() is still on 'a'.
    const { registry, evicted, got } = await full('x', (key) => (key === 'b' ? { failureThreshold: 9 } : {}));
    const snapshot = registry.snapshot();
    expect(got()).toBeDefined();
    expect(evicted).toEqual(['b']);
    // Before: ['a', 'x']: the iteration ran over the live map, skipped 'b' (evicted before its turn) and
    // reported 'x' (inserted during it).
    expect(Object.keys(snapshot)).toEqual(['a', 'b']);
    expect(snapshot).toMatchObject({
      a: { state: 'half-open' },
      b: { state: 'closed', consecutiveFailures: 1 },
    });
    expect(Object.keys(registry.snapshot())).toEqual(['a', 'x']);
  });
});
