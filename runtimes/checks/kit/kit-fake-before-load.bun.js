// bun:test's fake timers turned on before @integ/queue/testing loads, and left on.
import { afterEach, beforeEach, describe, expect, it, jest } from 'bun:test';

jest.useFakeTimers();
const { memoryStore } = await import('@integ/queue');
const { queueConformance } = await import('@integ/queue/testing');
queueConformance(
  { describe, it, expect, beforeEach, afterEach },
  { name: 'memoryStore (fake timers before load)', createStore: () => memoryStore() },
);
describe('sanity', () => {
  it('timers are fake', () => {
    let fired = false;
    setTimeout(() => (fired = true), 1000);
    jest.advanceTimersByTime(1000);
    expect(fired).toBe(true);
  });
});
