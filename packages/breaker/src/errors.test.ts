import { types } from 'node:util';
import {
  type Breaker,
  CircuitOpenError,
  createBreaker,
  createBreakerRegistry,
  isCircuitOpenError,
} from '@integ/breaker';
import { IntegError, isIntegError } from '@integ/core';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';

async function rejection(): Promise<CircuitOpenError> {
  const breaker = createBreaker({ clock: createFakeClock(), failureThreshold: 1, openFor: 2_000 });
  await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => {});
  return breaker.execute(() => 1).catch((e: CircuitOpenError) => e) as Promise<CircuitOpenError>;
}

describe('CircuitOpenError', () => {
  it('is a real Error and an IntegError with code, message, retryAfterMs', async () => {
    const error = await rejection();
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(IntegError);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(Object.prototype.toString.call(error)).toBe('[object Error]');
    expect(error.name).toBe('CircuitOpenError');
    expect(error.code).toBe('ERR_CIRCUIT_OPEN');
    expect(error.retryAfterMs).toBe(2_000);
    expect(error.retryable).toBe(true);
    expect(error.isolated).toBe(false);
    expect(error.message).toBe('Circuit open: retry when retryAfterMs has passed');
    expect(isIntegError(error)).toBe(true);
  });

  it('carries no stack frames, and leaves Error.stackTraceLimit as it was', async () => {
    const before = Error.stackTraceLimit;
    const error = await rejection();
    expect(Error.stackTraceLimit).toBe(before);
    expect(error.stack?.split('\n').filter((line) => line.trimStart().startsWith('at '))).toEqual([]);
    expect(new Error('normal').stack).toContain('at ');
  });

  it('is a native error: util.types, Error.isError where it exists, structuredClone, JSON', async () => {
    const error = await rejection();
    expect(types.isNativeError(error)).toBe(true);
    const isError = (Error as { isError?: (value: unknown) => boolean }).isError;
    if (isError) expect(isError(error)).toBe(true);
    expect(structuredClone(error)).toMatchObject({ message: error.message });
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({
      code: 'ERR_CIRCUIT_OPEN',
      retryAfterMs: 2_000,
    });
  });

  it('can be constructed directly, with a fixed retryAfterMs', () => {
    const error = new CircuitOpenError(500);
    expect(error.retryAfterMs).toBe(500);
    expect(Object.getOwnPropertyDescriptor(error, 'retryAfterMs')).toMatchObject({ value: 500 });
    expect(error.message).toBe('Circuit open: retry when retryAfterMs has passed');
    expect(error).toMatchObject({ isolated: false, retryable: true, code: 'ERR_CIRCUIT_OPEN' });
    expect(new CircuitOpenError(Number.POSITIVE_INFINITY, true)).toMatchObject({
      isolated: true,
      retryable: false,
      retryAfterMs: Number.POSITIVE_INFINITY,
    });
  });
});

describe('CircuitOpenError from a breaker (one per open episode)', () => {
  const reject = (breaker: Breaker): Promise<CircuitOpenError> =>
    breaker.execute(() => 1).catch((e: unknown) => e) as Promise<CircuitOpenError>;

  it('is shared by the rejections of one open episode, and reads retryAfterMs live', async () => {
    const clock = createFakeClock();
    const onReject = vi.fn();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 30_000, onReject });
    await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    const first = await reject(breaker);
    expect(first.retryAfterMs).toBe(30_000);
    await clock.advance(10_000);
    const second = await reject(breaker);
    const viaTry = await breaker.tryExecute(() => 1);
    expect(second).toBe(first);
    expect(viaTry).toEqual({ ok: false, error: first });
    expect(onReject.mock.calls.map((c) => c[0])).toEqual([first, first, first]);
    // Exactly what a fresh error would say at the moment it is read.
    expect(first.retryAfterMs).toBe(20_000);
    await clock.advance(2_500);
    expect(first.retryAfterMs).toBe(17_500);
    // A fraction of a millisecond left still reads as 1 ms: "now" would be a lie.
    clock.advanceSync(17_499.5);
    expect(first.retryAfterMs).toBe(1);
    await clock.advance(0.5);
    // The breaker admits a call again: the old error says so instead of a stale number.
    expect(breaker.state).toBe('half-open');
    expect(first.retryAfterMs).toBe(0);
    expect(first).toMatchObject({ isolated: false, retryable: true, code: 'ERR_CIRCUIT_OPEN' });
  });

  it('a failed probe starts a new episode with a new error', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: (trip) => 1_000 * trip });
    await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    const first = await reject(breaker);
    expect(first.retryAfterMs).toBe(1_000);
    await clock.advance(1_000);
    await breaker.execute(() => Promise.reject(new Error('still down'))).catch(() => {});
    expect(breaker.state).toBe('open');
    const second = await reject(breaker);
    expect(second).not.toBe(first);
    expect(second.retryAfterMs).toBe(2_000);
    await clock.advance(500);
    expect(second.retryAfterMs).toBe(1_500);
  });

  it('while half-open with every probe slot taken, counts down the pending probe timeout', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000, probeTimeout: 4_000 });
    await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    const opened = await reject(breaker);
    await clock.advance(1_000);
    // A probe that hangs until the breaker gives up on it.
    const probe = breaker
      .execute(
        ({ signal }) => new Promise((_, fail) => signal.addEventListener('abort', () => fail(signal.reason))),
      )
      .catch((e: unknown) => e);
    await clock.advance(1_000);
    const full = await reject(breaker);
    expect(full).not.toBe(opened);
    expect(full.retryAfterMs).toBe(3_000);
    await clock.advance(2_000);
    expect(full.retryAfterMs).toBe(1_000);
    // The probe times out and fails: open again for another period, which the error now reports.
    await clock.advance(1_000);
    expect(await probe).toMatchObject({ name: 'TimeoutError' });
    expect(breaker.state).toBe('open');
    expect((await reject(breaker)).retryAfterMs).toBe(1_000);
  });

  it('isolate() gives a non-retryable error with Infinity; after release no error reports a wait', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 60_000 });
    await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    const open = await reject(breaker);
    const release = breaker.isolate();
    const isolated = await reject(breaker);
    expect(isolated).not.toBe(open);
    expect(isolated).toMatchObject({
      isolated: true,
      retryable: false,
      retryAfterMs: Number.POSITIVE_INFINITY,
    });
    expect(isolated.message).toBe('Circuit isolated: release or reset it');
    expect(open.retryAfterMs).toBe(Number.POSITIVE_INFINITY);
    release();
    expect(breaker.state).toBe('closed');
    expect([open.retryAfterMs, isolated.retryAfterMs]).toEqual([0, 0]);
  });

  it('reset() leaves no stale error: the next trip gets its own', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 5_000 });
    await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    await clock.advance(4_000);
    const before = await reject(breaker);
    expect(before.retryAfterMs).toBe(1_000);
    breaker.reset();
    expect(before.retryAfterMs).toBe(0);
    await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    const after = await reject(breaker);
    expect(after).not.toBe(before);
    expect(after.retryAfterMs).toBe(5_000);
  });

  it("a registry rejects with its breaker's episode error", async () => {
    const clock = createFakeClock();
    const registry = createBreakerRegistry({ clock, options: { failureThreshold: 1, openFor: 8_000 } });
    await registry.execute('a', () => Promise.reject(new Error('x'))).catch(() => {});
    await clock.advance(3_000);
    const error = (await registry.execute('a', () => 1).catch((e: unknown) => e)) as CircuitOpenError;
    expect(isIntegError(error, 'ERR_CIRCUIT_OPEN')).toBe(true);
    expect(error.retryAfterMs).toBe(5_000);
    expect(await registry.execute('b', () => 1)).toBe(1);
  });
});

describe('isCircuitOpenError', () => {
  it('recognises the error by brand and code, not by class', () => {
    const lookalike = Object.assign(new Error('from another copy'), {
      '@@integ/error': true,
      code: 'ERR_CIRCUIT_OPEN',
    });
    expect(isCircuitOpenError(lookalike)).toBe(true);
    expect(isCircuitOpenError(new Error('Circuit open'))).toBe(false);
    expect(isCircuitOpenError({ code: 'ERR_CIRCUIT_OPEN' })).toBe(false);
    expect(isCircuitOpenError(null)).toBe(false);
  });
});
