/**
 * Test-only: the conformance kit run by hand. collectKit() registers the kit with a runner that only records its tests
 * and hooks; runOne() runs one as a runner does. For suites that feed the kit broken stores and read what it says.
 */
import assert from 'node:assert/strict';
import type { QueueStore } from '@integ/queue';
import { type ConformanceOptions, type ConformanceRunner, queueConformance } from '@integ/queue/testing';

type Hook = () => Promise<void> | void;

export interface KitTest {
  /** Its describe blocks below the kit's own, then its name, joined by ' > '. */
  readonly name: string;
  readonly fn: () => Promise<void>;
  readonly before: readonly Hook[];
  readonly after: readonly Hook[];
}

/** node:assert, as the README shows for node:test: the kit must not lean on vitest's matchers. */
const assertExpect: ConformanceRunner['expect'] = (actual) => ({
  toBe: (expected) =>
    assert.ok(Object.is(actual, expected), `expected ${String(expected)}, got ${String(actual)}`),
  toEqual: (expected) => assert.deepStrictEqual(actual, expected),
});

/** The kit's tests for `options`; `expect` is the runner's matcher (node:assert unless given). */
export function collectKit(
  options: ConformanceOptions,
  expect: ConformanceRunner['expect'] = assertExpect,
): KitTest[] {
  const tests: KitTest[] = [];
  const frames: { name: string; before: Hook[]; after: Hook[] }[] = [];
  const top = (): { before: Hook[]; after: Hook[] } => {
    const frame = frames[frames.length - 1];
    if (frame === undefined) throw new Error('hook outside describe');
    return frame;
  };
  queueConformance(
    {
      describe(name, fn) {
        frames.push({ name, before: [], after: [] });
        fn();
        frames.pop();
      },
      it(name, fn) {
        tests.push({
          name: [...frames.slice(1).map((f) => f.name), name].join(' > '),
          fn,
          before: frames.flatMap((f) => f.before),
          after: [...frames].reverse().flatMap((f) => f.after),
        });
      },
      expect,
      beforeEach: (fn) => top().before.push(fn),
      afterEach: (fn) => top().after.push(fn),
    },
    options,
  );
  return tests;
}

/** Real-time bound on one kit test, so a store that hangs a test is a failure, not a stuck run. */
const WATCHDOG_MS = 5000;

/**
 * Runs one kit test as runners do (after-hooks whatever the test did; the test's own error is the one reported) and
 * returns the first line of its error, or undefined when it passed.
 */
export async function runOne(test: KitTest): Promise<string | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watchdog = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`watchdog: over ${WATCHDOG_MS} ms`)), WATCHDOG_MS);
  });
  const body = async (): Promise<void> => {
    let failure: { error: unknown } | undefined;
    try {
      for (const hook of test.before) await hook();
      await test.fn();
    } catch (error) {
      failure = { error };
    }
    for (const hook of test.after)
      await Promise.resolve()
        .then(hook)
        .catch((error: unknown) => {
          failure ??= { error };
        });
    if (failure !== undefined) throw failure.error;
  };
  try {
    await Promise.race([body(), watchdog]);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message.split('\n')[0] : String(error);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Every kit test that fails against stores made by `createStore`, with the first line of its error. Stops after a test
 * the watchdog stopped: its body and after-hooks may still be running, and the tests after it share the kit's state.
 */
export async function kitFailures(
  createStore: () => QueueStore,
  expect?: ConformanceRunner['expect'],
): Promise<Record<string, string>> {
  const failed: Record<string, string> = {};
  for (const test of collectKit({ name: 'mutant', createStore }, expect)) {
    const error = await runOne(test);
    if (error !== undefined) failed[test.name] = error;
    if (error?.startsWith('watchdog')) break;
  }
  return failed;
}
