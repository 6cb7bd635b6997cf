/**
 * Review round 29: the public types as a user meets them, under the house tsconfig (strict,
 * exactOptionalPropertyTypes). Checked by `npx tsc -p tsconfig.json --noEmit` in the package; the runtime
 * assertions only make sure the calls typed here are accepted by the code too.
 */

import type { Clock } from '@integ/core';
import { createFakeClock } from '@integ/testing';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type Breaker,
  type BreakerContext,
  type BreakerOptions,
  type BreakerRegistry,
  type BreakerRegistryOptions,
  type BreakerResult,
  type BreakerSnapshot,
  type BreakerState,
  type BreakerWindow,
  CircuitOpenError,
  createBreaker,
  createBreakerRegistry,
  type ExecuteOptions,
  type FailureEvent,
  isCircuitOpenError,
  type SlidingWindowOptions,
  type SuccessEvent,
  slidingWindow,
  type WindowCounts,
  type WindowFactory,
} from '../src/index';

describe('execute and tryExecute', () => {
  it("infer fn's value, sync or async, and tryExecute's result narrows on ok", async () => {
    const b = createBreaker();
    expectTypeOf(b.execute(() => 1)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(b.execute(async () => 'x')).toEqualTypeOf<Promise<string>>();
    expectTypeOf(b.execute(({ signal }) => Promise.resolve({ aborted: signal.aborted }))).toEqualTypeOf<
      Promise<{ aborted: boolean }>
    >();
    expectTypeOf(b.execute(() => undefined)).toEqualTypeOf<Promise<undefined>>();
    expectTypeOf<Parameters<Parameters<Breaker['execute']>[0]>[0]>().toEqualTypeOf<BreakerContext>();

    const result = await b.tryExecute(async () => ({ id: 1 }));
    expectTypeOf(result).toEqualTypeOf<BreakerResult<{ id: number }>>();
    if (result.ok) {
      expectTypeOf(result.value).toEqualTypeOf<{ id: number }>();
      // @ts-expect-error: no error on a success
      void result.error;
    } else {
      expectTypeOf(result.error).toBeUnknown();
      if (isCircuitOpenError(result.error)) expectTypeOf(result.error.retryAfterMs).toBeNumber();
      // @ts-expect-error: no value on a failure
      void result.value;
    }
    expect(result).toEqual({ ok: true, value: { id: 1 } });
  });

  it('take a signal, undefined or null (what the runtime takes)', async () => {
    const b = createBreaker();
    const signal: AbortSignal | undefined = undefined;
    await expect(b.execute(() => 1, { signal })).resolves.toBe(1);
    await expect(b.execute(() => 2, { signal: null })).resolves.toBe(2);
    await expect(b.tryExecute(() => 3, { signal: AbortSignal.timeout(1_000) })).resolves.toEqual({
      ok: true,
      value: 3,
    });
    expectTypeOf<ExecuteOptions>().toHaveProperty('signal');
  });
});

describe('state, snapshots and events', () => {
  it('are literal unions and importable named types', () => {
    const b = createBreaker();
    expectTypeOf(b.state).toEqualTypeOf<BreakerState>();
    expectTypeOf<BreakerState>().toEqualTypeOf<'closed' | 'open' | 'half-open'>();
    expectTypeOf(b.snapshot()).toEqualTypeOf<BreakerSnapshot>();
    expectTypeOf<BreakerSnapshot['state']>().toEqualTypeOf<BreakerState>();
    expectTypeOf<BreakerSnapshot['openUntil']>().toEqualTypeOf<number | null>();
    expectTypeOf<NonNullable<BreakerOptions['onSuccess']>>().parameter(0).toEqualTypeOf<SuccessEvent>();
    expectTypeOf<NonNullable<BreakerOptions['onFailure']>>().parameter(0).toEqualTypeOf<FailureEvent>();
    expectTypeOf<FailureEvent['error']>().toBeUnknown();
    expectTypeOf<NonNullable<BreakerOptions['onReject']>>().parameter(0).toEqualTypeOf<CircuitOpenError>();
    expectTypeOf<NonNullable<BreakerOptions['onStateChange']>>().parameters.toEqualTypeOf<
      [BreakerState, BreakerState]
    >();
    expectTypeOf<NonNullable<BreakerOptions['window']>>().toEqualTypeOf<WindowFactory>();
    expectTypeOf<ReturnType<WindowFactory>>().toEqualTypeOf<BreakerWindow>();
    expectTypeOf<ReturnType<BreakerWindow['counts']>>().toEqualTypeOf<WindowCounts>();
    expectTypeOf(slidingWindow).parameter(0).toEqualTypeOf<SlidingWindowOptions | null | undefined>();
    expectTypeOf(new CircuitOpenError(5).isolated).toBeBoolean();
  });

  it('a snapshot, parsed from JSON or not, is an initialState', () => {
    const b = createBreaker();
    const saved: BreakerSnapshot = JSON.parse(JSON.stringify(b.snapshot()));
    expect(createBreaker({ initialState: saved }).state).toBe('closed');
    // Missing fields read as 0, and so do fields present but undefined (a partial record from storage).
    const partial: { state: BreakerState; trips?: number | undefined } = {
      state: 'closed',
      trips: undefined,
    };
    expect(createBreaker({ initialState: { ...partial, openUntil: undefined } }).snapshot().trips).toBe(0);
  });
});

describe('options under exactOptionalPropertyTypes', () => {
  // What a config read from the environment looks like: every field may be missing.
  const env: Record<string, string | undefined> = {};
  const num = (name: string): number | undefined => (env[name] === undefined ? undefined : Number(env[name]));

  it('every option of createBreaker takes an explicit undefined, as the runtime does', () => {
    const clock: Clock | undefined = undefined;
    const options: BreakerOptions = {
      failureThreshold: num('THRESHOLD'),
      openFor: num('OPEN_FOR'),
      maxOpenFor: undefined,
      window: undefined,
      slowCallDuration: undefined,
      halfOpenProbes: undefined,
      halfOpenSuccessRatio: undefined,
      probeTimeout: undefined,
      isFailure: undefined,
      isResultFailure: undefined,
      clock,
      initialState: undefined,
      onStateChange: undefined,
      onReject: undefined,
      onSuccess: undefined,
      onFailure: undefined,
    };
    expect(createBreaker(options).snapshot()).toMatchObject({ state: 'closed', trips: 0 });
  });

  it('every option of slidingWindow and createBreakerRegistry does too', () => {
    const windowOptions: SlidingWindowOptions = {
      type: undefined,
      size: num('SIZE'),
      duration: undefined,
      buckets: undefined,
      failureRateThreshold: undefined,
      slowCallRateThreshold: undefined,
      minimumCalls: num('MIN_CALLS'),
    };
    const registryOptions: BreakerRegistryOptions = {
      options: { window: slidingWindow(windowOptions), failureThreshold: undefined },
      maxSize: num('MAX_SIZE'),
      idleFor: undefined,
      clock: undefined,
      onEvict: undefined,
    };
    const registry = createBreakerRegistry(registryOptions);
    expectTypeOf(registry).toEqualTypeOf<BreakerRegistry>();
    expectTypeOf(registry.get).parameters.toEqualTypeOf<[key: string]>();
    expectTypeOf(registry.get('k')).toEqualTypeOf<Breaker>();
    expectTypeOf(registry.execute('k', async () => 1)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(registry.snapshot()).toEqualTypeOf<Record<string, BreakerSnapshot>>();
    // @ts-expect-error: keys are strings (a number throws InvalidArgumentError)
    expect(() => registry.get(1)).toThrow(/key/);
    expect(registry.get('k').state).toBe('closed');
  });

  it('null for the whole options object is none, as the README says (a config read from JSON)', () => {
    expect(createBreaker(null).snapshot().state).toBe('closed');
    expect(createBreakerRegistry(null).get('k').state).toBe('closed');
    expect(createBreaker({ window: slidingWindow(null) }).state).toBe('closed');
  });

  it('an options function of the registry may return options with undefined fields', () => {
    const clock = createFakeClock();
    const registry = createBreakerRegistry({
      clock,
      options: (key) => ({ failureThreshold: key === 'strict' ? 1 : undefined, clock: undefined }),
    });
    expect(registry.get('strict').snapshot().state).toBe('closed');
    // null and undefined are no options of its own (the README says so): a lookup that can miss.
    const saved: Record<string, BreakerOptions> = { a: { failureThreshold: 2 } };
    const lookup = createBreakerRegistry({
      options: (key) => (Object.hasOwn(saved, key) ? saved[key] : undefined),
    });
    const none = createBreakerRegistry({ options: () => null });
    expect([lookup.get('a').state, lookup.get('b').state, none.get('c').state]).toEqual([
      'closed',
      'closed',
      'closed',
    ]);
  });
});
