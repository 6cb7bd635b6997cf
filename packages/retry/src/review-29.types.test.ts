/**
 * Review round 29: the public types as a user meets them, under the house tsconfig (strict,
 * exactOptionalPropertyTypes). Checked by `npx tsc -p tsconfig.json --noEmit` in the package (the same file was
 * also checked against the built dist/index.d.ts); the runtime assertions only make sure the calls typed here are
 * accepted by the code too.
 */
import {
  type AttemptContext,
  type Backoff,
  type BackoffContext,
  type Clock,
  constant,
  type DecorrelatedOptions,
  decorrelated,
  type ExponentialOptions,
  exponential,
  type GiveUpEvent,
  type GiveUpReason,
  type HeadersLike,
  type Jitter,
  type LinearOptions,
  linear,
  type RejectedResultError,
  type RetryBudget,
  type RetryBudgetError,
  type RetryBudgetOptions,
  type RetryError,
  type RetryEvent,
  type RetryOptions,
  retry,
  retryBudget,
  type TimerHandle,
  withRetry,
} from '@integ/retry';
import { createFakeClock } from '@integ/testing';
import { describe, expect, expectTypeOf, it } from 'vitest';

describe('retry() types', () => {
  it('infers the resolved value of fn, sync or async, and types the attempt context', async () => {
    expectTypeOf(retry(async () => 42)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(retry(() => 'sync' as const)).toEqualTypeOf<Promise<'sync'>>();
    expectTypeOf(retry(() => Promise.resolve({ id: 1 }))).toEqualTypeOf<Promise<{ id: number }>>();
    const value = await retry(({ attempt, signal }) => {
      expectTypeOf(attempt).toEqualTypeOf<number>();
      expectTypeOf(signal).toEqualTypeOf<AbortSignal>();
      return attempt;
    });
    expect(value).toBe(1);
    expectTypeOf<AttemptContext>().toEqualTypeOf<{
      readonly attempt: number;
      readonly signal: AbortSignal;
    }>();
  });

  it('types retryOnResult with the value of fn and retryIf with the attempt context', async () => {
    const value = await retry(async () => ({ status: 200 }), {
      retryOnResult: (res, context) => {
        expectTypeOf(res).toEqualTypeOf<{ status: number }>();
        expectTypeOf(context).toEqualTypeOf<AttemptContext>();
        return res.status >= 500;
      },
      retryIf: (error, context) => {
        expectTypeOf(error).toBeUnknown();
        expectTypeOf(context).toEqualTypeOf<AttemptContext>();
        return Promise.resolve(true);
      },
      onRetry: (event) => expectTypeOf(event).toEqualTypeOf<RetryEvent>(),
      onGiveUp: (event) => expectTypeOf(event).toEqualTypeOf<GiveUpEvent>(),
    });
    expect(value).toEqual({ status: 200 });
  });

  it('takes every option given as undefined under exactOptionalPropertyTypes (the runtime does)', async () => {
    const options = {
      attempts: undefined,
      backoff: undefined,
      retryIf: undefined,
      retryOnResult: undefined,
      timeout: undefined,
      deadline: undefined,
      signal: undefined,
      budget: undefined,
      maxRetryAfter: undefined,
      onRetry: undefined,
      onGiveUp: undefined,
      clock: undefined,
      random: undefined,
    } satisfies Required<{ [K in keyof RetryOptions]: undefined }>;
    expect(await retry(() => 1, options)).toBe(1);
    expect(await withRetry(() => 2, options)()).toBe(2);
    expect(
      exponential({ initial: undefined, factor: undefined, max: undefined, jitter: undefined }),
    ).toBeTypeOf('function');
    expect(linear({ initial: undefined, step: undefined, max: undefined, jitter: undefined })).toBeTypeOf(
      'function',
    );
    expect(decorrelated({ initial: undefined, max: undefined })).toBeTypeOf('function');
    expect(
      retryBudget({ ratio: undefined, minPerSecond: undefined, ttl: undefined, clock: undefined }),
    ).toBeDefined();
    expect(await retry(() => 3, undefined)).toBe(3);
  });

  it('takes readonly options objects, `as const` ones, and options typed for unknown values', async () => {
    const clock = createFakeClock();
    const frozen = Object.freeze({
      attempts: 2,
      backoff: constant(0),
      clock,
    }) satisfies Readonly<RetryOptions>;
    const literal = { attempts: 2, timeout: 100, jitter: 'none' } as const;
    const shared: RetryOptions = { attempts: 2, retryOnResult: (value) => value === null };
    expect(await retry(async () => 1, frozen)).toBe(1);
    expect(await retry(async () => 1, { attempts: literal.attempts, timeout: literal.timeout, clock })).toBe(
      1,
    );
    expect(await retry(async () => 1, shared)).toBe(1);
    expect(await withRetry(async (id: string) => id, shared)('a')).toBe('a');
    expect(exponential({ jitter: literal.jitter })).toBeTypeOf('function');
    const readonlyOptions: Readonly<ExponentialOptions> = { initial: 10 };
    expect(exponential(readonlyOptions)).toBeTypeOf('function');
  });
});

describe('withRetry() types', () => {
  it("keeps fn's parameters (optional ones too), its resolved return type, and a method's this", async () => {
    const wrapped = withRetry((id: string, options?: { full: boolean }) => Promise.resolve({ id, options }));
    expectTypeOf(wrapped).parameters.toEqualTypeOf<[id: string, options?: { full: boolean }]>();
    expectTypeOf(wrapped).returns.toEqualTypeOf<
      Promise<{ id: string; options: { full: boolean } | undefined }>
    >();
    expectTypeOf(withRetry(() => 1)).returns.toEqualTypeOf<Promise<number>>();
    const api = {
      base: '/users/',
      get: withRetry(function (this: { base: string }, id: string) {
        return Promise.resolve(this.base + id);
      }),
    };
    expectTypeOf(api.get).returns.toEqualTypeOf<Promise<string>>();
    expect(await api.get('1')).toBe('/users/1');
  });

  it('keeps a generic fn generic', async () => {
    const identity = withRetry(<T>(value: T): Promise<T> => Promise.resolve(value));
    expectTypeOf(identity(1)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(identity('a' as const)).toEqualTypeOf<Promise<'a'>>();
    const pair = withRetry(<K extends string>(key: K, n: number) => Promise.resolve([key, n] as const));
    expectTypeOf(pair('k', 1)).toEqualTypeOf<Promise<readonly ['k', number]>>();
    expect(await identity(5)).toBe(5);
  });

  it('types retryOnResult with the resolved value of the wrapped fn', () => {
    withRetry(async (n: number) => n * 2, {
      retryOnResult: (value) => {
        expectTypeOf(value).toEqualTypeOf<number>();
        return false;
      },
    });
  });
});

describe('the names a user imports for every option, event and error field', () => {
  it('exports them from @integ/retry, the clock types included (@integ/core need not be installed)', () => {
    expectTypeOf<RetryOptions['backoff']>().toEqualTypeOf<Backoff | undefined>();
    expectTypeOf<RetryOptions['budget']>().toEqualTypeOf<RetryBudget | undefined>();
    expectTypeOf<RetryOptions['clock']>().toEqualTypeOf<Clock | undefined>();
    expectTypeOf<RetryOptions['onRetry']>().toEqualTypeOf<((event: RetryEvent) => void) | undefined>();
    expectTypeOf<RetryOptions['onGiveUp']>().toEqualTypeOf<((event: GiveUpEvent) => void) | undefined>();
    expectTypeOf<Backoff>().toEqualTypeOf<(context: BackoffContext) => number>();
    expectTypeOf<ExponentialOptions['jitter']>().toEqualTypeOf<Jitter | undefined>();
    expectTypeOf<LinearOptions['jitter']>().toEqualTypeOf<Jitter | undefined>();
    expectTypeOf<DecorrelatedOptions>().toHaveProperty('initial');
    expectTypeOf<RetryBudgetOptions['clock']>().toEqualTypeOf<Clock | undefined>();
    expectTypeOf<ReturnType<Clock['setTimeout']>>().toEqualTypeOf<TimerHandle>();
    expectTypeOf<RetryError['attempts']>().toEqualTypeOf<number>();
    expectTypeOf<RetryError['errors']>().toEqualTypeOf<readonly unknown[]>();
    expectTypeOf<RetryError['reason']>().toEqualTypeOf<GiveUpReason>();
    expectTypeOf<GiveUpReason>().toEqualTypeOf<'attempts' | 'deadline' | 'budget'>();
    expectTypeOf<GiveUpEvent['reason']>().toEqualTypeOf<GiveUpReason | 'not-retryable' | 'aborted'>();
    expectTypeOf<RetryBudgetError>().toExtend<RetryError>();
    expectTypeOf<RejectedResultError['value']>().toBeUnknown();
    expectTypeOf<HeadersLike>().toExtend<{ get(name: string): string | null | undefined }>();
    expectTypeOf(new Headers()).toExtend<HeadersLike>();
    // A browser clock written as the README's `clock` row says, typed with the name retry exports.
    const clock: Clock = {
      now: () => Date.now(),
      setTimeout: (callback, ms) => setTimeout(callback, ms),
      clearTimeout: (handle) => clearTimeout(handle as number),
    };
    expect(clock.now()).toBeTypeOf('number');
  });
});
