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

describe('queueConformance after a test that failed while a close() it started with a timeout waited (QUEUECLOSE)', () => {
  const CLOSE_TEST =
    'process > queue.close() returns jobs taken with next() and not settled to pending after its timeout';

  it("reports the test's own failure and finishes that close(), instead of hanging in the after-hook", async () => {
    // The lease kept in one key per queue (each claim overwrites it): only the job claimed last can be acked. The kit
    // test starts queue.close({ timeout: 1000 }), moves the clock 500 ms, and its ack of the first job fails there.
    // The after-hook's queue.close({ timeout: 0 }) got that close's promise, waiting on the kit's clock for the other
    // job: on the old kit the test hung until runOne's watchdog (5 s) stopped it.
    const inner = memoryStore();
    let closed = 0;
    let cleaned = 0;
    let latest: string | undefined;
    const store: QueueStore = {
      ...inner,
      claim: async (queue, options) => {
        const records = await inner.claim(queue, options);
        latest = records[records.length - 1]?.id ?? latest;
        return records;
      },
      ack: async (id, token, now) => (id === latest ? inner.ack(id, token, now) : false),
      close: async () => {
        closed += 1;
      },
    };
    const test = kitTest(
      {
        name: 'x',
        createStore: () => store,
        cleanup: () => {
          cleaned += 1;
        },
      },
      CLOSE_TEST,
    );
    expect(await runOne(test)).toMatch(/^Cannot ack job \S+: its lease \(token 1\) is no longer held/);
    // The close finished: the job nobody settled went back to pending after the close's 1000 ms, its attempt kept.
    const jobs = await inner.list('conformance', {});
    expect(jobs.map((j) => [j.payload, j.status, j.attempts])).toEqual([
      ['"settled in time"', 'processing', 1],
      ['"abandoned"', 'pending', 0],
    ]);
    expect([closed, cleaned]).toEqual([1, 1]);
  });

  it('fails the worker close() test at once when another handler keeps its close() waiting, and finishes that close', async () => {
    // A claim answering each job twice (a join doubling rows): the worker runs the one job twice. The kit test ends
    // one handler and waited for close({ timeout: 5000 }) in its body, on the kit's clock at 1000 ms: it hung there
    // (runOne's watchdog, 5 s), and a runner that gave up on it then hung in the after-hook too.
    const inner = memoryStore();
    let closed = 0;
    const store: QueueStore = {
      ...inner,
      claim: async (queue, options) => (await inner.claim(queue, options)).flatMap((r) => [r, { ...r }]),
      close: async () => {
        closed += 1;
      },
    };
    const test = kitTest(
      { name: 'x', createStore: () => store },
      'process > close() waits for running jobs within its timeout',
    );
    expect(await runOne(test)).toMatch(
      /^conformance \(x\): timed out waiting for close\(\) to settle once its one job finished: another handler still runs, so the store handed out the job twice/,
    );
    // The after-hook moved the clock past the close's 5000 ms: the other handler was aborted, the store closed.
    expect((await inner.list('conformance', {})).map((j) => j.status)).toEqual(['done']);
    expect(closed).toBe(1);
  });
});
