/**
 * Review 41: the survivors of Stryker's run on the conformance kit's harness (testing.ts 1-250) and its manual clock
 * (internal/manual-clock.ts). Each test is one a user meets: a runner or option of the wrong shape named in the error,
 * a store missing a method or touched after its test, a clock that fires timers in due order.
 */
import { InvalidArgumentError } from '@integ/core';
import { type JobRecord, memoryStore, type QueueStore } from '@integ/queue';
import { type ConformanceOptions, type ConformanceRunner, queueConformance } from '@integ/queue/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { collectKit, type KitTest, kitFailures, runOne } from '../test/kit-runner.js';
import { manualClock, turns } from './internal/manual-clock.js';

/** The kit test named `name` (its describe blocks joined by ' > '), its assertions made with vitest's expect. */
function kitTest(options: ConformanceOptions, name: string): KitTest {
  const test = collectKit(options, vitestExpect).find((t) => t.name === name);
  if (test === undefined) throw new Error(`no kit test named ${name}`);
  return test;
}

const vitestExpect: ConformanceRunner['expect'] = (actual) => ({
  toBe: (expected) => expect(actual).toBe(expected),
  toEqual: (expected) => expect(actual).toEqual(expected),
});

const runner: ConformanceRunner = {
  describe() {},
  it() {},
  expect: () => ({ toBe() {}, toEqual() {} }),
  beforeEach() {},
  afterEach() {},
};

const refusal = (fn: () => void): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidArgumentError) return error.message;
    throw error;
  }
  return 'accepted';
};

describe('queueConformance options', () => {
  it('refuses a name that is not a string, and a callTimeout outside 1..2147483647 or not a number, naming the option', () => {
    const create = (): QueueStore => memoryStore();
    expect(refusal(() => queueConformance(runner, { name: 7, createStore: create } as never))).toBe(
      'Invalid name: expected a string, received 7',
    );
    for (const callTimeout of [0.5, 2_147_483_648, Number.NaN, '100'])
      expect(
        refusal(() => queueConformance(runner, { name: 'x', createStore: create, callTimeout } as never)),
      ).toMatch(/^Invalid callTimeout: expected a number of ms from 1 to 2147483647, received /);
    for (const callTimeout of [1, 2_147_483_647, undefined])
      expect(refusal(() => queueConformance(runner, { name: 'x', createStore: create, callTimeout }))).toBe(
        'accepted',
      );
  });

  it('names what it expected of a runner, createStore and cleanup, and refuses a missing runner or options', () => {
    const create = (): QueueStore => memoryStore();
    expect(
      refusal(() =>
        queueConformance({ ...runner, afterEach: 1 } as never, { name: 'x', createStore: create }),
      ),
    ).toBe("Invalid runner.afterEach: expected a function (your test runner's), received 1");
    expect(refusal(() => queueConformance(undefined as never, { name: 'x', createStore: create }))).toBe(
      "Invalid runner.describe: expected a function (your test runner's), received undefined",
    );
    expect(refusal(() => queueConformance(runner, undefined as never))).toBe(
      'Invalid name: expected a string, received undefined',
    );
    expect(refusal(() => queueConformance(runner, { name: 'x', createStore: 1 } as never))).toBe(
      'Invalid createStore: expected a function returning a fresh QueueStore, received 1',
    );
    expect(
      refusal(() => queueConformance(runner, { name: 'x', createStore: create, cleanup: 1 } as never)),
    ).toBe('Invalid cleanup: expected a function, received 1');
  });
});

describe('queueConformance store guard', () => {
  it('fails a kit test with a message naming the method a store lacks', async () => {
    const store = { ...memoryStore() } as Partial<QueueStore>;
    delete store.stats;
    const test = kitTest(
      { name: 'partial', createStore: () => store as QueueStore },
      'stats > counts jobs by status and reports the age of the oldest pending job',
    );
    expect(await runOne(test)).toBe('conformance (partial): the store has no stats() method');
  });

  it('refuses a store call made by a test body after its test ended (a body the runner gave up on)', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const inner = memoryStore();
    // The push lands, but its answer is held until the test is over.
    const store: QueueStore = {
      ...inner,
      enqueue: async (queue, jobs, now) => {
        const result = await inner.enqueue(queue, jobs, now);
        await gate;
        return result;
      },
    };
    const test = kitTest(
      { name: 'late', createStore: () => store },
      'push > returns { id, timestamp, payload, status, attempts } with an ISO timestamp',
    );
    for (const hook of test.before) await hook();
    const body = test.fn().then(
      () => 'passed',
      (error: Error) => error.message,
    );
    for (const hook of test.after) await hook();
    open();
    expect(await body).toBe('conformance (late): store.get() called after its test ended (timed out?)');
  });
});

describe('queueConformance store errors', () => {
  const WORKER = 'process > runs the handler for each job and acks it';

  it('ends a wait that cannot finish with the last store error, an Error by its message and anything else as text', async () => {
    for (const [thrown, shown] of [
      [new Error('db down'), 'db down'],
      ['connection reset', 'connection reset'],
    ] as const) {
      const inner = memoryStore();
      const store: QueueStore = { ...inner, claim: () => Promise.reject(thrown) };
      const message = await runOne(kitTest({ name: 'down', createStore: () => store }, WORKER));
      expect(message).toBe(
        `conformance (down): timed out waiting for three jobs done (last store error: store.claim(): ${shown})`,
      );
    }
  });

  it('ends a wait with no store error in plain words, and says which job or rejection it expected', async () => {
    const cases: [(inner: QueueStore) => Partial<QueueStore>, string, string][] = [
      [() => ({ ack: async () => true }), WORKER, 'conformance (odd): timed out waiting for three jobs done'],
      [
        () => ({ claim: async () => [] }),
        'next > holds a delayed job until its delay has passed',
        'conformance: expected a job, got null',
      ],
      [
        // Fenced by nothing: the stale holder's ack lands on the job another holder has.
        (inner) => ({
          ack: async (id, _token, now) => inner.ack(id, (await inner.get(id))?.token ?? 0, now),
        }),
        'leases > rejects ack, fail and extend from a stale holder with ERR_LEASE_LOST',
        'conformance: expected a rejection',
      ],
    ];
    for (const [broken, name, message] of cases)
      expect(await runOne(kitTest({ name: 'odd', createStore: brokenStore(broken) }, name))).toBe(message);
  });

  it("bounds a store call on the real timers while the runner's fake timers are on", async () => {
    vi.useFakeTimers();
    try {
      const store: QueueStore = { ...memoryStore(), claim: () => new Promise(() => {}) };
      const test = kitTest(
        { name: 'hung', createStore: () => store, callTimeout: 20 },
        'next > returns null when nothing is due',
      );
      expect(await runOne(test)).toBe(
        'conformance (hung): store.claim() did not settle within 20 ms (every store call must resolve or reject; raise callTimeout for a slow backend)',
      );
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('the kit turns()', () => {
  it('lets exactly n event-loop turns pass', async () => {
    const ran: string[] = [];
    setImmediate(() => {
      ran.push('first turn');
      setImmediate(() => ran.push('second turn'));
    });
    await turns(0);
    expect(ran).toEqual([]);
    await turns(1);
    expect(ran).toEqual(['first turn']);
  });
});

describe('the kit manual clock', () => {
  it('fires timers in due order, those due at once in the order they were set, and reads each one at its due time', async () => {
    const clock = manualClock(1000, async () => {});
    const fired: [string, number][] = [];
    const at = (name: string) => () => fired.push([name, clock.now()]);
    clock.setTimeout(at('b@30'), 30);
    clock.setTimeout(at('a@10'), 10);
    const cleared = clock.setTimeout(at('cleared'), 10);
    clock.setTimeout(at('c@30'), 30);
    clock.setTimeout(at('d@10'), 10);
    clock.clearTimeout(cleared);
    await clock.advance(30);
    expect(fired).toEqual([
      ['a@10', 1010],
      ['d@10', 1010],
      ['b@30', 1030],
      ['c@30', 1030],
    ]);
    clock.setTimeout(at('e@5'), 5);
    await clock.advance(4);
    expect([fired.length, clock.now()]).toEqual([4, 1034]);
    await clock.advance(1);
    expect(fired[4]).toEqual(['e@5', 1035]);
  });
});

describe('the kit turns() under timers faked out of its reach', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  /** A fake as node:test's mock.timers installs it: a bound private method, with no handle on the real timer. */
  const outOfReach = (name: string): (() => void) =>
    Object.defineProperty(() => {}, 'name', { value: `bound #${name}` });

  /** manual-clock.ts loaded afresh while `names` are faked, then the fakes left in place. */
  async function loadedUnder(...names: string[]): Promise<typeof import('./internal/manual-clock.js')> {
    vi.resetModules();
    for (const name of names) vi.stubGlobal(name, outOfReach(name));
    return import('./internal/manual-clock.js');
  }

  it("finds the real setImmediate through fake timers installed before it loaded (@sinonjs/fake-timers keeps it as the clock's _setImmediate)", async () => {
    vi.useFakeTimers();
    try {
      const { turns } = await loadedUnder();
      await expect(turns(2)).resolves.toBe(undefined);
    } finally {
      vi.useRealTimers();
    }
  });

  it('gives up on a fake whose clock leads back to itself, and takes the timer of when it loaded', async () => {
    const { turns } = await loadedUnder();
    const loop = Object.assign(() => {}, { clock: {} as { _setImmediate?: unknown } });
    loop.clock._setImmediate = loop;
    vi.stubGlobal('setImmediate', loop);
    await expect(turns(1)).resolves.toBe(undefined);
  });

  it('takes real setTimeout turns when only setImmediate is faked', async () => {
    const { turns } = await loadedUnder('setImmediate');
    await expect(turns(2)).resolves.toBe(undefined);
  });

  it('rejects, saying to import the kit first, when setImmediate and setTimeout both were faked before it loaded', async () => {
    const { turns } = await loadedUnder('setImmediate', 'setTimeout');
    await expect(turns(1)).rejects.toThrow(
      "conformance: setImmediate is faked (node:test's mock.timers, or fake timers that keep no handle on the real one) " +
        'and already was when @integ/queue/testing loaded: the kit needs real event-loop turns. Import it before ' +
        'faking the timers, or leave setImmediate real.',
    );
  });
});

/** memoryStore() with the methods `broken` returns put over its own. */
const brokenStore = (broken: (inner: QueueStore) => Partial<QueueStore>) => (): QueueStore => {
  const inner = memoryStore();
  return { ...inner, ...broken(inner) };
};

/** Overrides of every read that returns records (enqueue's answer, claim, get, list), each record rewritten by `patch`. */
function readsAs(inner: QueueStore, patch: (record: JobRecord) => JobRecord): Partial<QueueStore> {
  return {
    enqueue: async (queue, jobs, now) =>
      (await inner.enqueue(queue, jobs, now)).map((r) => ({ ...r, job: patch(r.job) })),
    claim: async (queue, options) =>
      (await inner.claim(queue, options)).map((r) => ({ ...patch(r), stalled: r.stalled })),
    get: async (id) => {
      const record = await inner.get(id);
      return record === null ? null : patch(record);
    },
    list: async (queue, options) => (await inner.list(queue, options)).map(patch),
  };
}

/** Stores the kit let through before review 41, each a plausible slip of a SQL or Redis store. */
const HOLES: Record<string, (inner: QueueStore) => Partial<QueueStore>> = {
  // `DELETE ... WHERE created_at < $1`: jobs pushed long ago go the moment they finish.
  'clean ages jobs from their push, not from when they finished': (inner) => {
    const pushedAt = async (id: string): Promise<number> => (await inner.get(id))?.createdAt ?? 0;
    return {
      ack: async (id, token) => inner.ack(id, token, await pushedAt(id)),
      fail: async (id, token, now, error, outcome) =>
        inner.fail(id, token, outcome.status === 'dead' ? await pushedAt(id) : now, error, outcome),
    };
  },
  // `finished_at <= $1`
  'clean removes a job that finished exactly at finishedBefore': (inner) => ({
    clean: (queue, options) => inner.clean(queue, { ...options, finishedBefore: options.finishedBefore + 1 }),
  }),
  'key not read back (null)': (inner) => readsAs(inner, (r) => ({ ...r, key: null })),
  'runAt read back as the push time': (inner) => readsAs(inner, (r) => ({ ...r, runAt: r.createdAt })),
  'lastError read back only once a job is dead': (inner) =>
    readsAs(inner, (r) => (r.status === 'pending' ? { ...r, lastError: null } : r)),
  'attempts read back 0 once a job is done': (inner) =>
    readsAs(inner, (r) => (r.status === 'done' ? { ...r, attempts: 0 } : r)),
  // One "finished" set for done and dead jobs (a Redis store), read without looking at the status.
  'list by a finished status lists done and dead jobs': (inner) => ({
    list: async (queue, options) => {
      if (options.status !== 'done' && options.status !== 'dead') return inner.list(queue, options);
      const all = await inner.list(queue, { limit: 1_000_000 });
      const finished = all.filter((r) => r.status === 'done' || r.status === 'dead');
      const offset = options.offset ?? 0;
      return finished.slice(offset, offset + (options.limit ?? 100));
    },
  }),
  // `UPDATE ... SET status = 'pending', attempts = 0` with no `run_at = $now`: the job keeps its last due time.
  'redrive leaves runAt as the last attempt left it': (inner) => {
    const kept = new Map<string, number>();
    return {
      ...readsAs(inner, (r) =>
        r.status === 'pending' && kept.has(r.id) ? { ...r, runAt: kept.get(r.id) ?? 0 } : r,
      ),
      redrive: async (queue, options) => {
        const dead = await inner.list(queue, { status: 'dead', limit: 1_000_000 });
        const n = await inner.redrive(queue, options);
        for (const r of dead) if ((await inner.get(r.id))?.status === 'pending') kept.set(r.id, r.runAt);
        return n;
      },
    };
  },
};

/** For each store in HOLES: the kit test that fails it now, and its message. */
const CAUGHT: Record<keyof typeof HOLES & string, [string, string]> = {
  'clean ages jobs from their push, not from when they finished': [
    'stats > clean() removes finished jobs of the given status that finished more than the given age ago',
    'expected 1 to be +0 // Object.is equality',
  ],
  'clean removes a job that finished exactly at finishedBefore': [
    'stats > clean() removes finished jobs of the given status that finished more than the given age ago',
    'expected 1 to be +0 // Object.is equality',
  ],
  'key not read back (null)': [
    'push > deduplicates by key while a job with that key is pending or processing',
    "expected [ null, null ] to deeply equal [ 'user-1', 'user-1' ]",
  ],
  'runAt read back as the push time': [
    'next > holds a delayed job until its delay has passed',
    "expected '2030-01-01T00:00:00.000Z' to be '2030-01-01T00:00:05.000Z' // Object.is equality",
  ],
  'lastError read back only once a job is dead': [
    'retries and dead letters > retries after the backoff, then dead-letters after the last attempt with its error',
    "expected [ 'pending', null ] to deeply equal [ 'pending', 'Error: boom 1' ]",
  ],
  'attempts read back 0 once a job is done': [
    'next > acks a job: done, and never delivered again',
    "expected [ 'done', +0 ] to deeply equal [ 'done', 1 ]",
  ],
  'list by a finished status lists done and dead jobs': [
    'stats > lists jobs in push order, by status, with limit and offset',
    'expected [ +0, 1 ] to deeply equal [ +0 ]',
  ],
  'redrive leaves runAt as the last attempt left it': [
    'retries and dead letters > redrives dead jobs back to pending with fresh attempts',
    "expected '2030-01-01T00:00:00.000Z' to be '2030-01-01T00:00:01.000Z' // Object.is equality",
  ],
};

describe('queueConformance rejects the stores it let through before review 41', () => {
  it('passes memoryStore', async () => {
    expect(await kitFailures(() => memoryStore(), vitestExpect)).toEqual({});
  });

  for (const [name, broken] of Object.entries(HOLES))
    it(`fails a store whose ${name}, in the test that checks it`, async () => {
      const failed = await kitFailures(brokenStore(broken), vitestExpect);
      const [test, message] = CAUGHT[name] ?? ['', ''];
      expect(failed[test]).toBe(message);
    });
});
