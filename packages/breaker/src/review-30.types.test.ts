/**
 * Review round 30: the registry's `options` field is a whole options object (every breaker's), and `null` for
 * one means none (README, Types), as the runtime has always read it and as its per-key function may answer.
 * Checked by `npx tsc -p tsconfig.json --noEmit` in the package; the runtime assertions make sure the code agrees.
 */

import { describe, expect, expectTypeOf, it } from 'vitest';
import { type BreakerRegistryOptions, createBreaker, createBreakerRegistry } from '../src/index';

describe('createBreakerRegistry({ options: null })', () => {
  it('types and runs as no options of its own: every breaker with the defaults', () => {
    // A config read from YAML, where an empty `options:` parses to null.
    const config = JSON.parse('{ "options": null, "maxSize": 10 }') as { options: null; maxSize: number };
    const registry = createBreakerRegistry({ options: config.options, maxSize: config.maxSize });
    expect(registry.get('k').snapshot()).toEqual(createBreaker().snapshot());
    expectTypeOf<null>().toExtend<BreakerRegistryOptions['options']>();
  });
});

describe('the clock types', () => {
  it('are exported by @integ/breaker, so a custom clock is typed without installing @integ/core', () => {
    const clock: import('../src/index').Clock = { now: () => 0, setTimeout: () => 1, clearTimeout: () => {} };
    expectTypeOf<ReturnType<import('../src/index').Clock['setTimeout']>>().toEqualTypeOf<
      import('../src/index').TimerHandle
    >();
    expect(createBreaker({ clock }).state).toBe('closed');
  });
});
