/**
 * Review round 16: a clock whose methods throw (a browser clock built from unbound `window.setTimeout`,
 * which throws 'Illegal invocation', or one that throws once), and predicates that return a Promise.
 */
import { type Clock, InvalidArgumentError } from '@integ/core';
import { createFakeClock, type FakeClock, trackUnhandledRejections } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBreaker, createBreakerRegistry, isCircuitOpenError, slidingWindow } from '../src/index';

type Method = 'now' | 'setTimeout' | 'clearTimeout';

/** A fake clock whose methods throw for their next `fails[method]` calls (Infinity: for good). */
function throwing(fake: FakeClock = createFakeClock({ now: 0 })) {
  const fails: Record<Method, number> = { now: 0, setTimeout: 0, clearTimeout: 0 };
  const error = new TypeError('Illegal invocation');
  const check = <T>(method: Method, call: () => T): T => {
    if (fails[method] > 0) {
      fails[method]--;
      throw error;
    }
    return call();
  };
  const clock: Clock = {
    now: () => check('now', () => fake.now()),
    setTimeout: (callback, ms) => check('setTimeout', () => fake.setTimeout(callback, ms)),
    clearTimeout: (handle) => check('clearTimeout', () => fake.clearTimeout(handle)),
  };
  return { clock, fake, fails, error };
}

const down = new Error('down');
const fail = (): Promise<never> => Promise.reject(down);

describe('createBreaker on a clock whose setTimeout and clearTimeout always throw (unbound window.setTimeout)', () => {
  for (const hooks of [false, true])
    it(`trips with fn's error, and a probe is refused with the clock's error without holding its slot${hooks ? ' (hooks set)' : ''}`, async () => {
      const { clock, fake, fails, error } = throwing();
      fails.setTimeout = fails.clearTimeout = Number.POSITIVE_INFINITY;
      const changes: string[] = [];
      const breaker = createBreaker({
        clock,
        failureThreshold: 1,
        openFor: 1_000,
        ...(hooks && { onStateChange: (to: string) => changes.push(to), onSuccess: () => {} }),
      });
      expect(await breaker.tryExecute(fail)).toEqual({ ok: false, error: down });
      expect(breaker.state).toBe('open');
      const rejected = await breaker.tryExecute(() => 1);
      expect(isCircuitOpenError(!rejected.ok && rejected.error)).toBe(true);
      await fake.advance(1_000);
      expect(breaker.state).toBe('half-open');
      let ran = 0;
      const probe = () => {
        ran++;
        return 1;
      };
      // Each caller is told the clock failed (fn not run: a probe needs its timeout), and no slot is held.
      for (let i = 0; i < 3; i++) {
        let result: unknown;
        expect(() => {
          result = breaker.execute(probe);
        }).not.toThrow();
        await expect(result).rejects.toBe(error);
        expect(await breaker.tryExecute(probe)).toEqual({ ok: false, error });
      }
      expect(ran).toBe(0);
      expect(breaker.state).toBe('half-open');
      // The clock mended: the next probe runs and closes the breaker.
      fails.setTimeout = fails.clearTimeout = 0;
      expect(await breaker.execute(probe)).toBe(1);
      expect(breaker.state).toBe('closed');
      if (hooks) expect(changes).toEqual(['open', 'half-open', 'closed']);
      breaker.reset();
      expect(await breaker.execute(() => 2)).toBe(2);
    });

  it('isolate(), its release and reset() work, and a registry evicts such breakers without throwing', async () => {
    const { clock, fails } = throwing();
    fails.setTimeout = fails.clearTimeout = Number.POSITIVE_INFINITY;
    const breaker = createBreaker({ clock, onStateChange: () => {} });
    const release = breaker.isolate();
    expect(breaker.state).toBe('open');
    release();
    expect(breaker.state).toBe('closed');
    breaker.isolate();
    breaker.reset();
    expect(await breaker.execute(() => 3)).toBe(3);
    const registry = createBreakerRegistry({
      clock,
      maxSize: 1,
      options: { failureThreshold: 1, onStateChange: () => {} },
    });
    await registry.execute('a', fail).catch(() => {});
    expect(registry.get('a').state).toBe('open');
    expect(() => registry.get('b')).not.toThrow();
    expect(await registry.execute('c', () => 4)).toBe(4);
  });
});

describe('createBreaker on a clock whose setTimeout throws once while a probe is admitted', () => {
  it('refuses that probe with the clock error, frees its slot, and the next probe decides', async () => {
    const { clock, fake, fails, error } = throwing();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000, halfOpenProbes: 1 });
    await breaker.tryExecute(fail);
    await fake.advance(1_000);
    fails.setTimeout = 1;
    await expect(breaker.execute(() => 1)).rejects.toBe(error);
    expect(breaker.state).toBe('half-open');
    expect(await breaker.execute(() => 1)).toBe(1);
    expect(breaker.state).toBe('closed');
    expect(fake.pendingTimers).toBe(0);
  });
});

describe('createBreaker on a clock whose clearTimeout throws once', () => {
  it("returns a probe's value, counts it and leaves nothing that fires later", async () => {
    const { clock, fake, fails } = throwing();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000, probeTimeout: 500 });
    await breaker.tryExecute(fail);
    await fake.advance(1_000);
    let signal: AbortSignal | undefined;
    const probe = breaker.execute((context) => {
      signal = context.signal;
      fails.clearTimeout = 1;
      return 'ok';
    });
    await expect(probe).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
    await expect(fake.advance(1_000)).resolves.toBeUndefined();
    expect(breaker.state).toBe('closed');
    expect(signal?.aborted).toBe(false);
  });

  it("rejects the tripping call with fn's error and opens", async () => {
    const { clock, fails } = throwing();
    const breaker = createBreaker({ clock, failureThreshold: 1 });
    fails.clearTimeout = 1;
    await expect(breaker.execute(fail)).rejects.toBe(down);
    expect(breaker.state).toBe('open');
  });
});

describe('createBreaker on a clock whose now() throws', () => {
  it('before fn runs: the call rejects with the clock error (never a synchronous throw) and takes no slot', async () => {
    const { clock, fake, fails, error } = throwing();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000, onSuccess: () => {} });
    await breaker.tryExecute(fail);
    await fake.advance(1_000);
    for (const n of [1, 2, 3]) {
      // 1: the admission's look at the clock; 2: the probe deadline; 3: the start of a timed call.
      fails.now = 0;
      let skip = n - 1;
      const real = clock.now;
      clock.now = () => {
        if (skip-- === 0) throw error;
        return real();
      };
      let result: Promise<unknown> | undefined;
      expect(() => {
        result = breaker.execute(() => 1);
      }).not.toThrow();
      await expect(result).rejects.toBe(error);
      expect(await breaker.tryExecute(() => 1)).toEqual({ ok: true, value: 1 });
      clock.now = real;
      breaker.reset();
      await breaker.tryExecute(fail);
      await fake.advance(1_000);
    }
  });

  it("after fn ran: fn's outcome is returned and counted, and a probe still decides", async () => {
    const { clock, fake, fails } = throwing();
    const breaker = createBreaker({
      clock,
      failureThreshold: 2,
      openFor: 1_000,
      onSuccess: () => {},
      window: slidingWindow({ type: 'time', minimumCalls: 2, failureRateThreshold: 1 }),
    });
    const now = (value: unknown) => () => {
      fails.now = Number.POSITIVE_INFINITY;
      return value;
    };
    await expect(
      breaker.execute(() => {
        fails.now = Number.POSITIVE_INFINITY;
        return fail();
      }),
    ).rejects.toBe(down);
    fails.now = 0;
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 1, calls: 1 });
    await expect(
      breaker.execute(() => {
        fails.now = Number.POSITIVE_INFINITY;
        return fail();
      }),
    ).rejects.toBe(down);
    fails.now = 0;
    expect(breaker.state).toBe('open');
    await fake.advance(1_000);
    expect(breaker.state).toBe('half-open');
    await expect(breaker.execute(now('probe'))).resolves.toBe('probe');
    fails.now = 0;
    expect(breaker.state).toBe('closed');
  });

  it('in the open -> half-open timer does not throw out of the timer; the move is made on the next look', async () => {
    const { clock, fake, fails } = throwing();
    const changes: string[] = [];
    const breaker = createBreaker({
      clock,
      failureThreshold: 1,
      openFor: 1_000,
      onStateChange: (to) => changes.push(to),
    });
    await breaker.tryExecute(fail);
    fails.now = 1;
    await expect(fake.advance(1_000)).resolves.toBeUndefined();
    expect(breaker.state).toBe('half-open');
    expect(changes).toEqual(['open', 'half-open']);
  });

  it("a registry's execute returns fn's outcome when the clock throws as the call ends", async () => {
    const { clock, fails } = throwing();
    const registry = createBreakerRegistry({ clock });
    await expect(
      registry.execute('a', () => {
        fails.now = 1;
        return 5;
      }),
    ).resolves.toBe(5);
  });
});

describe('isFailure and isResultFailure that do not answer true or false at once', () => {
  it('count a Promise, or any answer but a boolean, as no answer: an error fails, a value succeeds, as when they throw', async () => {
    const unhandled = trackUnhandledRejections();
    try {
      for (const answer of [
        async () => false,
        async () => {
          throw new Error('predicate failed');
        },
        () => Promise.resolve(false),
        () => Promise.resolve(true),
        () => Promise.reject(new Error('predicate failed')),
        () => 0,
        () => 'yes',
        () => undefined,
      ]) {
        const errors = createBreaker({ failureThreshold: 1, isFailure: answer as never });
        await expect(errors.execute(fail)).rejects.toBe(down);
        expect(errors.state).toBe('open');
        const values = createBreaker({ failureThreshold: 1, isResultFailure: answer as never });
        await expect(values.execute(() => 7)).resolves.toBe(7);
        expect(values.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
      }
      // The boolean answers still decide.
      const turnedDown = createBreaker({ failureThreshold: 1, isFailure: () => false });
      await expect(turnedDown.execute(fail)).rejects.toBe(down);
      expect(turnedDown.state).toBe('closed');
      const flagged = createBreaker({ failureThreshold: 1, isResultFailure: () => true });
      await expect(flagged.execute(() => 7)).resolves.toBe(7);
      expect(flagged.state).toBe('open');
      expect(await unhandled.settled()).toEqual([]);
    } finally {
      unhandled.stop();
    }
  });
});

describe('openFor given as an async function', () => {
  it('opens for the default period, and its rejection is ignored, never left unhandled', async () => {
    const unhandled = trackUnhandledRejections();
    try {
      const clock = createFakeClock({ now: 0 });
      for (const openFor of [async () => 1_000, async () => Promise.reject(new Error('backoff failed'))]) {
        const breaker = createBreaker({ clock, failureThreshold: 1, openFor: openFor as never });
        await expect(breaker.execute(fail)).rejects.toBe(down);
        expect(breaker.snapshot()).toMatchObject({ state: 'open', openUntil: 60_000 });
      }
      expect(await unhandled.settled()).toEqual([]);
    } finally {
      unhandled.stop();
    }
  });
});

describe('a registry whose options function returns a Promise (an async options loader)', () => {
  it('refuses it with InvalidArgumentError (options) instead of a breaker with default options, leaving nothing unhandled', async () => {
    const unhandled = trackUnhandledRejections();
    try {
      for (const result of [
        Promise.resolve({ failureThreshold: 1 }),
        Promise.reject(new Error('config down')),
      ]) {
        const registry = createBreakerRegistry({ options: () => result as never });
        let thrown: unknown;
        try {
          registry.get('a');
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(InvalidArgumentError);
        expect((thrown as InvalidArgumentError).argument).toBe('options');
        await expect(registry.execute('a', () => 1)).rejects.toBeInstanceOf(InvalidArgumentError);
        expect(registry.size).toBe(0);
      }
      expect(await unhandled.settled()).toEqual([]);
    } finally {
      unhandled.stop();
    }
  });
});

describe('initialState with an openUntil of -Infinity (JSON -1e999)', () => {
  it('is a number, so a period that ended: half-open at once, as the README says, like 1e999 is accepted', () => {
    const clock = createFakeClock({ now: 0 });
    for (const openUntil of [Number.NEGATIVE_INFINITY, JSON.parse('-1e999'), '-1e999'])
      expect(createBreaker({ clock, initialState: { state: 'open', openUntil } as never }).state).toBe(
        'half-open',
      );
    for (const openUntil of [Number.NaN, 'x', [], true])
      expect(() => createBreaker({ clock, initialState: { state: 'open', openUntil } as never })).toThrow(
        InvalidArgumentError,
      );
  });
});

describe('createBreaker on a clock that reads NaN once', () => {
  it('reads it as no time passed, so an open period it starts still ends (it was NaN: open for good)', async () => {
    const fake = createFakeClock({ now: 5_000 });
    let nan = 0;
    const clock = {
      now: () => (nan-- > 0 ? Number.NaN : fake.now()),
      setTimeout: fake.setTimeout,
      clearTimeout: fake.clearTimeout,
    };
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000 });
    expect(breaker.state).toBe('closed');
    await expect(
      breaker.execute(() => {
        nan = 1;
        return fail();
      }),
    ).rejects.toBe(down);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', openUntil: 6_000 });
    await fake.advance(1_000);
    expect(breaker.state).toBe('half-open');
    expect(await breaker.execute(() => 1)).toBe(1);
    expect(breaker.state).toBe('closed');
  });
});

describe('isolate(), its release and reset() on a clock whose every method throws', () => {
  it('never throw the clock error', () => {
    const { clock, fails } = throwing();
    const breaker = createBreaker({ clock, onStateChange: () => {}, onSuccess: () => {} });
    fails.now = fails.setTimeout = fails.clearTimeout = Number.POSITIVE_INFINITY;
    const release = breaker.isolate();
    const again = breaker.isolate();
    release();
    again();
    breaker.isolate();
    breaker.reset();
    fails.now = 0;
    expect(breaker.state).toBe('closed');
  });
});

describe('createBreaker on a clock that throws at random (property)', () => {
  it("never throws synchronously, gives fn's outcome whenever fn ran, and recovers once the clock works", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 200 }),
        fc.array(fc.constantFrom('ok', 'fail', 'hang', 'advance'), { minLength: 1, maxLength: 60 }),
        fc.record({ probes: fc.integer({ min: 1, max: 3 }), hooks: fc.boolean() }),
        async (throws, commands, { probes, hooks }) => {
          const fake = createFakeClock({ now: 0 });
          let i = 0;
          let broken = true;
          const error = new TypeError('Illegal invocation');
          const check = <T>(call: () => T): T => {
            if (broken && throws[i++ % throws.length]) throw error;
            return call();
          };
          const clock: Clock = {
            now: () => check(() => fake.now()),
            setTimeout: (f, ms) => check(() => fake.setTimeout(f, ms)),
            clearTimeout: (h) => check(() => fake.clearTimeout(h)),
          };
          const breaker = createBreaker({
            clock,
            failureThreshold: 2,
            openFor: 1_000,
            probeTimeout: 500,
            halfOpenProbes: probes,
            ...(hooks && { onStateChange: () => {}, onSuccess: () => {}, onFailure: () => {} }),
          });
          for (const command of commands) {
            if (command === 'advance') {
              await fake.advance(400);
              continue;
            }
            let ran = false;
            const value = {};
            const fn = (): unknown => {
              ran = true;
              if (command === 'ok') return value;
              if (command === 'fail') return Promise.reject(down);
              return new Promise(() => {});
            };
            let result!: Promise<{ ok: boolean; value?: unknown; error?: unknown }>;
            expect(() => {
              result = breaker.tryExecute(fn);
            }).not.toThrow();
            if (command === 'hang') continue;
            const r = await result;
            if (ran) expect(r).toEqual(command === 'ok' ? { ok: true, value } : { ok: false, error: down });
            else expect(r.error === error || isCircuitOpenError(r.error)).toBe(true);
          }
          // The clock mended: within an open period and a probe timeout, probes that succeed close it.
          broken = false;
          for (let n = 0; n < 10 && breaker.state !== 'closed'; n++) {
            await fake.advance(1_000);
            await breaker.tryExecute(() => 1);
          }
          expect(breaker.state).toBe('closed');
        },
      ),
      { seed: 1616, numRuns: 300 },
    );
  });
});
