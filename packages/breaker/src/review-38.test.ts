/**
 * Review round 38: `state` is a getter on a prototype all breakers share (memory: a getter in each breaker's own
 * object literal gave every breaker a hidden class of its own, ~360 B). It reads as before, also destructured and on
 * breakers of a registry, and moves to half-open lazily when read.
 */
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';
import { createBreaker, createBreakerRegistry } from './index.js';

describe('state, read through the shared prototype', () => {
  it('is one accessor for every breaker, not an own property of each', () => {
    const a = createBreaker();
    const b = createBreaker({ failureThreshold: 1 });
    expect(Object.getPrototypeOf(a)).toBe(Object.getPrototypeOf(b));
    expect(Object.hasOwn(a, 'state')).toBe(false);
    expect('state' in a).toBe(true);
    expect(typeof Object.getOwnPropertyDescriptor(Object.getPrototypeOf(a), 'state')?.get).toBe('function');
  });

  it("reads each breaker's own state, destructured too, and moves an expired open period to half-open", async () => {
    const clock = createFakeClock();
    const a = createBreaker({ failureThreshold: 1, openFor: 1_000, clock });
    const b = createBreaker({ clock });
    await a.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    expect([a.state, b.state]).toEqual(['open', 'closed']);
    const { state } = a;
    expect(state).toBe('open');
    await clock.advance(1_000);
    expect(a.state).toBe('half-open');
    expect(b.state).toBe('closed');
  });

  it('works on the breakers a registry makes', async () => {
    const registry = createBreakerRegistry({ options: { failureThreshold: 1 } });
    await registry
      .get('x')
      .execute(() => Promise.reject(new Error('down')))
      .catch(() => {});
    expect([registry.get('x').state, registry.get('y').state]).toEqual(['open', 'closed']);
  });
});
