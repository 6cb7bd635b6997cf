import { CircuitOpenError, createBreaker, isCircuitOpenError } from '@integ/breaker';
import { IntegError, isIntegError } from '@integ/core';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

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
    expect(error.message).toMatch(/retry after 2000 ms/);
    expect(isIntegError(error)).toBe(true);
  });

  it('carries no stack frames, and leaves Error.stackTraceLimit as it was', async () => {
    const before = Error.stackTraceLimit;
    const error = await rejection();
    expect(Error.stackTraceLimit).toBe(before);
    expect(error.stack?.split('\n').filter((line) => line.trimStart().startsWith('at '))).toEqual([]);
    expect(new Error('normal').stack).toContain('at ');
  });

  it('is a fresh object per rejection', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1 });
    await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    const first = (await breaker.execute(() => 1).catch((e: unknown) => e)) as CircuitOpenError;
    await clock.advance(1_000);
    const second = (await breaker.execute(() => 1).catch((e: unknown) => e)) as CircuitOpenError;
    expect(second).not.toBe(first);
    expect(first.retryAfterMs - second.retryAfterMs).toBe(1_000);
  });

  it('can be constructed directly', () => {
    const error = new CircuitOpenError(500);
    expect(error.retryAfterMs).toBe(500);
    expect(new CircuitOpenError(Number.POSITIVE_INFINITY, true)).toMatchObject({
      isolated: true,
      retryable: false,
    });
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
