import { readFileSync } from 'node:fs';
import {
  type BreakerRegistry,
  type BreakerRegistryOptions,
  createBreaker,
  createBreakerRegistry,
} from '@integ/breaker';
import { createFakeClock, type FakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

// The README's recipe for carrying a registry across a restart, run as written (its import, stand-in and type
// annotation stripped), on the fake clock and with a short idleFor so that eviction can be shown.
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const recipe = readme
  .match(/```ts\n([^`]*Object\.hasOwn\(saved[^`]*)```/)![1]!
  .replace(': Record<string, BreakerSnapshot>', '')
  // The example is a complete module (readme-examples.test.ts compiles it): its import and its stand-in for
  // the stored JSON give way to the arguments below.
  .replace(/^import .*\n/m, '')
  .replace(/^let stored\b.*\n/m, '');

function restart(stored: string, clock: FakeClock): BreakerRegistry {
  const make = (options: BreakerRegistryOptions): BreakerRegistry =>
    createBreakerRegistry({ ...options, clock, idleFor: 1_000 });
  return new Function('createBreakerRegistry', 'stored', `${recipe}; return breakers;`)(make, stored);
}

const fail = (): Promise<never> => Promise.reject(new Error('down'));

describe("the README's restart recipe", () => {
  it('starts a key from its saved snapshot', async () => {
    const clock = createFakeClock();
    const before = createBreaker({ clock, failureThreshold: 1, openFor: 5_000 });
    await before.execute(fail).catch(() => {});
    const breakers = restart(JSON.stringify({ 'api.example.com': before.snapshot() }), clock);
    expect(breakers.get('api.example.com').snapshot()).toMatchObject({
      state: 'open',
      openUntil: 5_000,
      trips: 1,
    });
    expect(breakers.get('other.example.com').state).toBe('closed');
  });

  it('a key evicted after it recovered gets a fresh closed breaker, not its old snapshot again', async () => {
    const clock = createFakeClock();
    const before = createBreaker({ clock, failureThreshold: 1, openFor: 5_000 });
    await before.execute(fail).catch(() => {});
    await before.execute(fail).catch(() => {});
    const breakers = restart(JSON.stringify({ 'api.example.com': before.snapshot() }), clock);
    await clock.advance(5_000);
    // The probe succeeds: the dependency is back, and the breaker closes with its trips forgotten.
    await expect(breakers.execute('api.example.com', () => 'ok')).resolves.toBe('ok');
    expect(breakers.get('api.example.com').state).toBe('closed');
    await clock.advance(1_001);
    expect(breakers.prune()).toBe(1);
    // Its next breaker is a new one: closed, trip count 0, every concurrent caller admitted.
    const again = breakers.get('api.example.com');
    expect(again.snapshot()).toMatchObject({ state: 'closed', trips: 0, consecutiveFailures: 0 });
    const calls = await Promise.all([1, 2, 3].map((n) => again.tryExecute(() => n)));
    expect(calls).toEqual([1, 2, 3].map((value) => ({ ok: true, value })));
  });

  it('an isolation ended by reset() does not come back when the key is evicted and used again', async () => {
    const clock = createFakeClock();
    const before = createBreaker({ clock });
    before.isolate();
    const breakers = restart(JSON.stringify({ 'api.example.com': before.snapshot() }), clock);
    const restored = breakers.get('api.example.com');
    expect(restored.snapshot()).toMatchObject({ state: 'open', isolated: true });
    // A restored isolation has no release function of its own (README): reset() ends it.
    restored.isolate()();
    expect(restored.snapshot().isolated).toBe(true);
    restored.reset();
    await clock.advance(1_001);
    expect(breakers.prune()).toBe(1);
    expect(breakers.get('api.example.com').snapshot()).toMatchObject({ state: 'closed', isolated: false });
    await expect(breakers.execute('api.example.com', () => 'ok')).resolves.toBe('ok');
  });
});
