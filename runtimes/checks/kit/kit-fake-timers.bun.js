// The same, with bun:test's fake timers on in every test (jest.useFakeTimers() of bun:test).
import { afterEach, beforeEach, describe, expect, it, jest } from 'bun:test';
import { memoryStore } from '@integ/queue';
import { queueConformance } from '@integ/queue/testing';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());
queueConformance(
  { describe, it, expect, beforeEach, afterEach },
  { name: 'memoryStore (fake timers)', createStore: () => memoryStore() },
);

describe('bun:test fake timers are really on in these tests', () => {
  it('setTimeout waits for jest.advanceTimersByTime()', () => {
    let fired = false;
    setTimeout(() => (fired = true), 1000);
    expect(fired).toBe(false);
    jest.advanceTimersByTime(1000);
    expect(fired).toBe(true);
  });
});
