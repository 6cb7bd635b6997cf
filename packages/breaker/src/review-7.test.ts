/**
 * Review round 7: what fn hands back is read by the breaker as little as it can, and a read that throws
 * (a revoked Proxy, a lazy `name` getter of an RPC error) must neither replace fn's error nor leave the
 * state machine half-updated (a probe slot taken for ever).
 */
import { createBreaker, isCircuitOpenError } from '@integ/breaker';
import { createFakeClock } from '@integ/testing';
import { afterEach, describe, expect, it } from 'vitest';

// An error object on which every property read throws, as a revoked Proxy does.
const revoked = (): object => {
  const { proxy, revoke } = Proxy.revocable(new Error('down'), {});
  revoke();
  return proxy;
};
// What a promise rejected with, in an array (a promise resolved with the proxy itself reads its `then`),
// compared by identity only (expect() would read the revoked proxy's properties).
const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => 'resolved',
    (error: unknown) => [error],
  );

describe('createBreaker given a rejection whose properties cannot be read', () => {
  it('rejects with fn’s own error and counts it as a failure (closed fast path)', async () => {
    const breaker = createBreaker({ failureThreshold: 2 });
    const error = revoked();
    expect(((await rejection(breaker.execute(() => Promise.reject(error)))) as unknown[])[0] === error).toBe(
      true,
    );
    expect(breaker.snapshot().consecutiveFailures).toBe(1);
    const result = await breaker.tryExecute(() => Promise.reject(error));
    expect(!result.ok && result.error === error).toBe(true);
    expect(breaker.state).toBe('open');
  });

  it('rejects with fn’s own error and counts it on the timed path (onFailure set)', async () => {
    const clock = createFakeClock();
    const failures: unknown[] = [];
    const breaker = createBreaker({ clock, failureThreshold: 1, onFailure: (e) => failures.push(e.error) });
    const error = revoked();
    expect(((await rejection(breaker.execute(() => Promise.reject(error)))) as unknown[])[0] === error).toBe(
      true,
    );
    expect(failures.length === 1 && failures[0] === error).toBe(true);
    expect(breaker.state).toBe('open');
  });

  it('fails a probe with it instead of leaving the breaker half-open with its slot taken for ever', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000, probeTimeout: 500 });
    await breaker.tryExecute(() => Promise.reject(new Error('down')));
    await clock.advance(1_000);
    expect(breaker.state).toBe('half-open');
    const error = revoked();
    expect(((await rejection(breaker.execute(() => Promise.reject(error)))) as unknown[])[0] === error).toBe(
      true,
    );
    expect(breaker.state).toBe('open');
    expect(breaker.snapshot().trips).toBe(2);
    await clock.advance(1_000);
    await expect(breaker.execute(() => 'recovered')).resolves.toBe('recovered');
    expect(breaker.state).toBe('closed');
  });

  it('counts a caller abort whose reason cannot be read as an abort, and frees the probe slot', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000 });
    await breaker.tryExecute(() => Promise.reject(new Error('down')));
    await clock.advance(1_000);
    const caller = new AbortController();
    const probe = breaker.execute(() => new Promise(() => {}), { signal: caller.signal });
    caller.abort(revoked());
    expect(breaker.state).toBe('half-open');
    await expect(breaker.execute(() => 'next probe')).resolves.toBe('next probe');
    expect(breaker.state).toBe('closed');
    void probe;
  });
});

// Hardened JavaScript freezes the intrinsics: Node's --frozen-intrinsics, SES/LavaMoat compartments. There
// `Error.stackTraceLimit` is read-only, and assigning it in a module (strict code) throws a TypeError.
describe('createBreaker where Error.stackTraceLimit is read-only (frozen intrinsics)', () => {
  const own = Object.getOwnPropertyDescriptor(Error, 'stackTraceLimit');
  afterEach(() => {
    if (own) Object.defineProperty(Error, 'stackTraceLimit', own);
  });

  it('still rejects an open circuit with CircuitOpenError, and tryExecute still resolves', async () => {
    Object.defineProperty(Error, 'stackTraceLimit', { value: 10, writable: false, configurable: true });
    const breaker = createBreaker({ failureThreshold: 1 });
    await breaker.tryExecute(() => Promise.reject(new Error('down')));
    let result: unknown;
    expect(() => {
      result = breaker.tryExecute(() => 'never');
    }).not.toThrow();
    const settled = await (result as Promise<{ ok: boolean; error?: unknown }>);
    expect(settled.ok).toBe(false);
    expect(isCircuitOpenError(settled.error)).toBe(true);
    expect(() => breaker.execute(() => 'never').catch(() => {})).not.toThrow();
    await expect(breaker.execute(() => 'never')).rejects.toMatchObject({ code: 'ERR_CIRCUIT_OPEN' });
    expect(Error.stackTraceLimit).toBe(10);
  });
});
