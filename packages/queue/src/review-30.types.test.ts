/**
 * Review round 30: the `clock` option's types from `@integ/queue` itself, as @integ/retry (413a8a5) and
 * @integ/breaker (6f4d767) export them. Checked by `npx tsc -p tsconfig.json --noEmit` in the package.
 */
import { type Clock, createQueue, memoryStore, type QueueOptions, type TimerHandle } from '@integ/queue';
import { type SqliteStore, sqliteStore } from '@integ/queue/sqlite';
import type { ConformanceOptions } from '@integ/queue/testing';
import { describe, expect, expectTypeOf, it } from 'vitest';

describe('the clock types', () => {
  it('are exported by @integ/queue, so a custom clock is typed without installing @integ/core', async () => {
    const clock: Clock = { now: () => 0, setTimeout: () => 1, clearTimeout: () => {} };
    expectTypeOf<ReturnType<Clock['setTimeout']>>().toEqualTypeOf<TimerHandle>();
    expectTypeOf<NonNullable<QueueOptions<unknown>['clock']>>().toEqualTypeOf<Clock>();
    const queue = createQueue({ name: 'q', store: memoryStore(), clock });
    expect((await queue.push(1)).timestamp).toBe(new Date(0).toISOString());
    await queue.close();
  });
});

describe("the conformance kit's cleanup (a23dddc made it a property)", () => {
  it('takes a function typed for the store under test, as it did as a method (parameters compared both ways)', () => {
    const options: ConformanceOptions = {
      name: 'sqlite',
      createStore: () => sqliteStore({ path: ':memory:' }),
      cleanup: (store: SqliteStore) => {
        void store.driver;
      },
    };
    // exactOptionalPropertyTypes: still takes undefined (review-29's 'cleanup: maybeCleanup').
    const none: ConformanceOptions = { ...options, cleanup: undefined };
    expect([typeof options.cleanup, none.cleanup]).toEqual(['function', undefined]);
  });
});
