import { createBreaker, createBreakerRegistry } from '@integ/breaker';
import { createFakeClock, trackUnhandledRejections, type UnhandledRejections } from '@integ/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// An async hook (`onStateChange: async (to) => { await alerts.send(to) }`) is a `=> void` to TypeScript.
// When its promise rejects, nobody else can handle it: left unhandled, it ends a Node process by default.
let unhandled: UnhandledRejections;
beforeEach(() => {
  unhandled = trackUnhandledRejections();
});
afterEach(() => unhandled.stop());
const failing = (name: string) => async (): Promise<void> => {
  throw new Error(`${name} hook failed`);
};

describe('async hooks whose promise rejects are ignored, like hooks that throw', () => {
  it('onStateChange, onReject, onSuccess and onFailure leave no unhandled rejection and change nothing', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({
      clock,
      failureThreshold: 1,
      openFor: 1_000,
      onStateChange: failing('onStateChange'),
      onReject: failing('onReject'),
      onSuccess: failing('onSuccess'),
      onFailure: failing('onFailure'),
    });
    await expect(breaker.execute(() => 'ok')).resolves.toBe('ok');
    await expect(breaker.execute(() => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(breaker.state).toBe('open');
    expect((await breaker.tryExecute(() => 'never')).ok).toBe(false);
    await clock.advance(1_000);
    expect(breaker.state).toBe('half-open');
    await expect(breaker.execute(() => 'probe')).resolves.toBe('probe');
    expect(breaker.state).toBe('closed');
    expect(await unhandled.settled()).toEqual([]);
  });

  it("a registry's async onEvict leaves no unhandled rejection", async () => {
    const clock = createFakeClock();
    const registry = createBreakerRegistry({ clock, maxSize: 1, onEvict: failing('onEvict') });
    registry.get('a');
    registry.get('b');
    expect(registry.has('a')).toBe(false);
    expect(await unhandled.settled()).toEqual([]);
  });
});
