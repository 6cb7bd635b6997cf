/**
 * The default clock is `Date.now()`, a wall clock: NTP, a VM resumed from a snapshot or an operator can step
 * it back. A breaker must not read such a step as time still to wait: an open period stays bounded by its own
 * length (and so by `maxOpenFor`), `retryAfterMs` by what is left of it, a time window forgets its calls after
 * `duration` of elapsed time, and a duration is never negative.
 *
 * The clock of these tests is such a wall clock: `now()` is the fake clock's time plus a step the test sets,
 * while timers run on the fake clock's elapsed time, as `setTimeout` does on a real machine.
 */

import {
  type CircuitOpenError,
  createBreaker,
  createBreakerRegistry,
  isCircuitOpenError,
  type SuccessEvent,
  slidingWindow,
} from '@integ/breaker';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const T0 = 1_700_000_000_000;
const DAY = 86_400_000;
const boom = (): Promise<never> => Promise.reject(new Error('boom'));

const wallClock = () => createFakeClock({ now: T0 });

async function tripped(options: Parameters<typeof createBreaker>[0] = {}) {
  const clock = wallClock();
  const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000, ...options });
  await breaker.execute(boom).catch(() => {});
  expect(breaker.state).toBe('open');
  return { clock, breaker };
}

describe('createBreaker when the clock steps back', () => {
  it('ends an open period after openFor of elapsed time, not openFor plus the step', async () => {
    const { clock, breaker } = await tripped();
    await clock.advance(400);
    expect(breaker.state).toBe('open');
    clock.setWallClock(T0 - DAY);
    expect(breaker.state).toBe('open');
    const rejected = await breaker.tryExecute(() => 'ok');
    expect(rejected.ok).toBe(false);
    // What is left of the period, not a day.
    expect((rejected as { error: CircuitOpenError }).error.retryAfterMs).toBe(600);
    await clock.advance(600);
    expect(breaker.state).toBe('half-open');
    await expect(breaker.execute(() => 'ok')).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('waits at most what was left of the period at its last look, however far back the clock went unseen', async () => {
    const { clock, breaker } = await tripped({ openFor: 1_000, maxOpenFor: 5_000 });
    clock.setWallClock(T0 - 365 * DAY);
    await clock.advance(3_000);
    // The 3 s since the step are invisible on a clock that went back a year: the period restarts from here,
    // at most what was left (1 s), within maxOpenFor.
    expect(breaker.state).toBe('open');
    await clock.advance(1_000);
    expect(breaker.state).toBe('half-open');
  });

  it('fires onStateChange once what was left has passed after its timer saw the step, and keeps no timer', async () => {
    const changes: string[] = [];
    const { clock } = await tripped({ onStateChange: (to) => changes.push(to) });
    clock.setWallClock(T0 - DAY);
    await clock.advance(2_000);
    expect(changes).toEqual(['open', 'half-open']);
    // The timer was not re-armed for the day the clock went back.
    expect(clock.pendingTimers).toBe(0);
  });

  it("snapshot()'s openUntil is on the clock as it reads now, so a breaker started from it waits what is left", async () => {
    const { clock, breaker } = await tripped();
    clock.setWallClock(T0 - DAY);
    const saved = breaker.snapshot();
    expect(saved.openUntil).toBe(T0 - DAY + 1_000);
    const restored = createBreaker({ clock, initialState: saved });
    await clock.advance(999);
    expect(restored.state).toBe('open');
    await clock.advance(1);
    expect(restored.state).toBe('half-open');
  });

  it("counts down a full half-open's retryAfterMs from the probe timeout, not from before the step", async () => {
    const { clock, breaker } = await tripped({ probeTimeout: 2_000 });
    await clock.advance(1_000);
    void breaker.execute(() => new Promise<never>(() => {})).catch(() => {});
    clock.setWallClock(T0 - DAY);
    const rejected = await breaker.tryExecute(() => 'ok');
    expect((rejected as { error: CircuitOpenError }).error.retryAfterMs).toBe(2_000);
  });

  it('a time window forgets a failure once duration has elapsed, even when the clock stepped back meanwhile', async () => {
    const clock = wallClock();
    const breaker = createBreaker({
      clock,
      failureThreshold: Number.POSITIVE_INFINITY,
      window: slidingWindow({ type: 'time', duration: 1_000, buckets: 10, minimumCalls: 3 }),
    });
    await breaker.execute(boom).catch(() => {});
    await breaker.execute(boom).catch(() => {});
    clock.setWallClock(T0 - DAY);
    expect(breaker.snapshot()).toMatchObject({ calls: 2, failures: 2 });
    await clock.advance(1_000);
    expect(breaker.snapshot()).toMatchObject({ calls: 0, failures: 0 });
    // Two fresh failures and a success: 2 of 3 is a rate of its own, not 4 of 5 with the old ones.
    await breaker.execute(boom).catch(() => {});
    await breaker.execute(() => 'ok');
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 2, failures: 1 });
  });

  it('reports a duration of 0, not a negative one, for a call during which the clock stepped back', async () => {
    const clock = wallClock();
    const events: SuccessEvent[] = [];
    const breaker = createBreaker({ clock, onSuccess: (event) => events.push(event) });
    await breaker.execute(async () => {
      clock.setWallClock(T0 - DAY);
      return 'ok';
    });
    expect(events).toEqual([{ durationMs: 0, slow: false, state: 'closed' }]);
  });
});

describe('createBreakerRegistry when the clock steps back', () => {
  it('evicts a breaker idle for idleFor of elapsed time, not idleFor plus the step', async () => {
    const clock = wallClock();
    const registry = createBreakerRegistry({ clock, idleFor: 60_000 });
    registry.get('idle');
    await clock.advance(10_000);
    registry.get('busy');
    clock.setWallClock(T0 - DAY);
    registry.get('busy');
    await clock.advance(50_000);
    registry.get('busy');
    expect(registry.has('idle')).toBe(false);
    await clock.advance(60_000);
    expect(registry.prune()).toBe(1);
    expect(registry.size).toBe(0);
  });
});

describe('createBreaker on a clock that steps back and forth (property)', () => {
  type Cmd =
    | { t: 'call'; how: 'ok' | 'fail' | 'hang' | 'slow'; signal: boolean; api: 'execute' | 'tryExecute' }
    | { t: 'settle'; i: number; ok: boolean }
    | { t: 'abort'; i: number; timeout: boolean }
    | { t: 'advance'; ms: number }
    | { t: 'step'; ms: number }
    | { t: 'isolate' }
    | { t: 'release'; i: number }
    | { t: 'reset' }
    | { t: 'restore' };
  const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        t: fc.constant('call' as const),
        how: fc.constantFrom(
          'ok' as const,
          'fail' as const,
          'fail' as const,
          'hang' as const,
          'slow' as const,
        ),
        signal: fc.boolean(),
        api: fc.constantFrom('execute' as const, 'tryExecute' as const),
      }),
    },
    { weight: 5, arbitrary: fc.record({ t: fc.constant('settle' as const), i: fc.nat(), ok: fc.boolean() }) },
    {
      weight: 2,
      arbitrary: fc.record({ t: fc.constant('abort' as const), i: fc.nat(), timeout: fc.boolean() }),
    },
    {
      weight: 5,
      arbitrary: fc.record({
        t: fc.constant('advance' as const),
        ms: fc.constantFrom(1, 50, 99, 100, 101, 499, 500, 1_000, 5_000),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant('step' as const),
        ms: fc.constantFrom(-DAY, -1_000, -50, -1, 1, 1_000, DAY),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ t: 'isolate' as const }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('release' as const), i: fc.nat() }) },
    { weight: 1, arbitrary: fc.constant({ t: 'reset' as const }) },
    { weight: 1, arbitrary: fc.constant({ t: 'restore' as const }) },
  );
  const configArb = fc.record({
    probes: fc.constantFrom(1, 2, 3),
    ratio: fc.constantFrom(1, 0.5),
    hooks: fc.boolean(),
    window: fc.constantFrom('none' as const, 'count' as const, 'time' as const),
    backoff: fc.boolean(),
  });
  const MAX_OPEN = 5_000;

  it('keeps open periods and retryAfterMs within maxOpenFor, durations >= 0, and every snapshot restorable', async () => {
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(cmdArb, { maxLength: 60 }), async (config, cmds) => {
        const clock = wallClock();
        const durations: number[] = [];
        const options = {
          clock,
          failureThreshold: 2,
          openFor: config.backoff ? (trip: number) => 100 * 2 ** trip : 1_000,
          maxOpenFor: MAX_OPEN,
          halfOpenProbes: config.probes,
          halfOpenSuccessRatio: config.ratio,
          probeTimeout: 500,
          slowCallDuration: 200,
          ...(config.window !== 'none' && {
            window: slidingWindow({
              type: config.window,
              size: 10,
              duration: 1_000,
              buckets: 10,
              minimumCalls: 4,
            }),
          }),
          ...(config.hooks && {
            onStateChange: () => {},
            onSuccess: (event: SuccessEvent) => durations.push(event.durationMs),
            onFailure: (event: SuccessEvent) => durations.push(event.durationMs),
          }),
        };
        let breaker = createBreaker(options);
        interface Call {
          settle?: (ok: boolean) => void;
          readonly caller: AbortController | undefined;
        }
        const calls: Call[] = [];
        const releases: Array<() => void> = [];
        // Episode errors of the current breaker, checked after every step (their retryAfterMs is read live).
        const rejections = new Set<CircuitOpenError>();
        const checkRejection = (error: unknown): void => {
          if (isCircuitOpenError(error)) rejections.add(error);
        };
        for (const cmd of cmds) {
          switch (cmd.t) {
            case 'call': {
              const call: Call = { caller: cmd.signal ? new AbortController() : undefined };
              const fn = (): string | Promise<string> => {
                if (cmd.how === 'ok') return 'ok';
                if (cmd.how === 'fail') throw new Error('down');
                return new Promise<string>((resolve, reject) => {
                  call.settle = (ok) => (ok ? resolve('late') : reject(new Error('late')));
                  if (cmd.how === 'slow') clock.setTimeout(() => resolve('slow'), 300);
                });
              };
              const opts = { signal: call.caller?.signal };
              if (cmd.api === 'execute') void breaker.execute(fn, opts).catch(checkRejection);
              else
                void breaker
                  .tryExecute(fn, opts)
                  .then((result) => result.ok || checkRejection(result.error), expect.unreachable);
              calls.push(call);
              break;
            }
            case 'settle':
              calls[cmd.i % (calls.length || 1)]?.settle?.(cmd.ok);
              break;
            case 'abort':
              calls[cmd.i % (calls.length || 1)]?.caller?.abort(
                cmd.timeout ? new DOMException('caller timed out', 'TimeoutError') : undefined,
              );
              break;
            case 'advance':
              await clock.advance(cmd.ms);
              break;
            case 'step':
              clock.setWallClock(clock.now() + cmd.ms);
              break;
            case 'isolate':
              releases.push(breaker.isolate());
              break;
            case 'release':
              releases[cmd.i % (releases.length || 1)]?.();
              break;
            case 'reset':
              breaker.reset();
              break;
            case 'restore':
              breaker = createBreaker({
                ...options,
                initialState: JSON.parse(JSON.stringify(breaker.snapshot())),
              });
              releases.length = 0;
              rejections.clear();
              break;
          }
          await Promise.resolve();
          const saved = breaker.snapshot();
          if (saved.openUntil !== null) expect(saved.openUntil - clock.now()).toBeLessThanOrEqual(MAX_OPEN);
          expect(durations.every((ms) => ms >= 0)).toBe(true);
          for (const error of rejections) {
            const wait = error.retryAfterMs;
            if (saved.isolated) expect(wait).toBe(Number.POSITIVE_INFINITY);
            else expect(wait >= 0 && wait <= MAX_OPEN, `retryAfterMs ${wait}`).toBe(true);
          }
        }
      }),
      { seed: 2026_1124, numRuns: 400 },
    );
  });
});
