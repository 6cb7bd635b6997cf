/**
 * Review round 35, brief R3: the conformance kit (`@integ/queue/testing`) under the runners its README names, with
 * their fake timers on. Run by hand under Jest 30.5 (CJS and ESM) and node:test (Node 20.20) with the built package:
 * 53 of 53 pass with real timers, but with `jest.useFakeTimers()` (or `fakeTimers: { enableGlobally: true }`) or
 * node:test's `mock.timers.enable()`, 48 of 53 ran into the runner's timeout: the kit owns its clock, yet it waited
 * for its event-loop turns and store-call timeouts on the global setImmediate and setTimeout, which those fake. Here
 * the same suite runs under vitest's fake timers, faked in a beforeEach that runs before the kit's, and under
 * node:test's mock.timers (its API works outside its runner); each test gets 2 s, so a hang fails fast.
 */
import { mock } from 'node:test';
import { memoryStore } from '@integ/queue';
import { type ConformanceRunner, queueConformance } from '@integ/queue/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const runner = (name: string): ConformanceRunner => ({
  describe: (title, fn) => describe(`${name}: ${title}`, fn),
  it: (title, fn) => it(title, fn, 2000),
  expect: expect as unknown as ConformanceRunner['expect'],
  beforeEach: (fn) => beforeEach(fn, 2000),
  afterEach: (fn) => afterEach(fn, 2000),
});

describe('with vi.useFakeTimers() on', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  queueConformance(runner('vi fake timers'), { name: 'memory', createStore: () => memoryStore() });
});

describe("with node:test's mock.timers on", () => {
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'setImmediate'] });
  });
  afterEach(() => {
    mock.timers.reset();
  });
  queueConformance(runner('node:test mock.timers'), { name: 'memory', createStore: () => memoryStore() });
});
