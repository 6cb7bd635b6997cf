/**
 * Review 42: the survivors of Stryker's run on the conformance kit's hooks (testing.ts 251-290) against the catalogue
 * of broken stores and review 41. Each test is one a user meets: a store or cleanup that fails or hangs after a test
 * that passed, and a test body the runner gave up on that is still running when the next test starts.
 */
import { memoryStore, type QueueStore } from '@integ/queue';
import type { ConformanceOptions } from '@integ/queue/testing';
import { describe, expect, it } from 'vitest';
import { collectKit, type KitTest, runOne } from '../test/kit-runner.js';

const NULL_TEST = 'next > returns null when nothing is due';
const PUSH_TEST = 'push > returns { id, timestamp, payload, status, attempts } with an ISO timestamp';

function kitTest(options: ConformanceOptions, name: string): KitTest {
  const test = collectKit(options).find((t) => t.name === name);
  if (test === undefined) throw new Error(`no kit test named ${name}`);
  return test;
}

describe('queueConformance after a test that passed', () => {
  it("fails the test with the store's close() error", async () => {
    const store = (): QueueStore => ({
      ...memoryStore(),
      close: async () => {
        throw new Error('close failed');
      },
    });
    expect(await runOne(kitTest({ name: 'x', createStore: store }, NULL_TEST))).toBe('close failed');
  });

  it("fails the test with cleanup()'s error, and names a cleanup that never settles", async () => {
    const failing = kitTest(
      {
        name: 'x',
        createStore: () => memoryStore(),
        cleanup: () => Promise.reject(new Error('cleanup failed')),
      },
      NULL_TEST,
    );
    expect(await runOne(failing)).toBe('cleanup failed');
    const hung = kitTest(
      { name: 'x', createStore: () => memoryStore(), cleanup: () => new Promise(() => {}), callTimeout: 50 },
      NULL_TEST,
    );
    expect(await runOne(hung)).toBe('conformance (x): cleanup() did not settle within 50 ms');
  });
});

describe('queueConformance before a test', () => {
  it('names a createStore() that never settles', async () => {
    const test = kitTest(
      { name: 'x', createStore: () => new Promise<QueueStore>(() => {}), callTimeout: 50 },
      NULL_TEST,
    );
    expect(await runOne(test)).toBe('conformance (x): createStore() did not settle within 50 ms');
  });

  it('waits for the body of a test the runner gave up on before it makes the next store', async () => {
    const events: string[] = [];
    let made = 0;
    const createStore = (): QueueStore => {
      made += 1;
      events.push(`store ${made}`);
      const inner = memoryStore();
      // The first store's enqueue never answers: the kit's call timeout (50 ms) ends it, and with it the body.
      return made === 1 ? { ...inner, enqueue: () => new Promise(() => {}) } : inner;
    };
    const kit = collectKit({ name: 'x', createStore, callTimeout: 50 });
    const first = kit.find((t) => t.name === PUSH_TEST);
    if (first === undefined) throw new Error('no kit test');
    for (const hook of first.before) await hook();
    // The runner times the body out: it runs the after-hooks without waiting, then the next test's before-hooks.
    const body = first.fn().catch(() => {});
    void body.then(() => events.push('first body settled'));
    for (const hook of first.after) await hook();
    for (const hook of first.before) await hook();
    for (const hook of first.after) await hook();
    await body;
    expect(events).toEqual(['store 1', 'first body settled', 'store 2']);
  });
});
