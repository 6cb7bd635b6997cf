/**
 * Review round 25: a cross-review of round 24's fixes (43c4c6d and decision 0189, a588059, bdeb004): a job taken
 * with next() dropped from close()'s list once this queue claims or reaps it again, and store methods that throw
 * synchronously instead of rejecting.
 */
import type { Logger } from '@integ/core';
import { createQueue, memoryStore, type QueueStore } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock, trackUnhandledRejections } from '@integ/testing';
import { describe, expect, it } from 'vitest';

const settle = async (turns = 20): Promise<void> => {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

const outcome = (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => 'ok',
    (error: unknown) => (error as { code?: string }).code ?? String(error),
  );

const METHODS = [
  'enqueue',
  'claim',
  'reap',
  'ack',
  'fail',
  'extend',
  'release',
  'stats',
  'get',
  'list',
  'redrive',
  'clean',
] as const;

/** Every public path through the queue, on a store whose `method` fails `how`; what each call and hook saw. */
async function trace(method: (typeof METHODS)[number], how: 'throws' | 'rejects'): Promise<string[]> {
  const unhandled = trackUnhandledRejections();
  const clock = createFakeClock({ now: 1_000_000 });
  const base = memoryStore();
  const fault = (): never => {
    throw new Error(`${method}() is down`);
  };
  const store: QueueStore = {
    ...base,
    [method]: how === 'throws' ? fault : async () => fault(),
  };
  const seen: string[] = [];
  const warn = ((_: object, message: string) => void seen.push(`warn ${message}`)) as Logger['warn'];
  const noop = (): void => {};
  const queue = createQueue<string>({
    name: 'q',
    store,
    clock,
    attempts: 1,
    logger: { debug: noop, info: noop, error: noop, warn },
  });
  seen.push(`push ${await outcome(queue.push('a'))}`);
  seen.push(`pushMany ${await outcome(queue.pushMany(['b', 'c', 'd']))}`);
  if (method === 'enqueue') await base.enqueue('q', ['a', 'b', 'c', 'd'].map(record), clock.now());
  const first = await queue.next({ leaseMs: 1000 }).catch((error: unknown) => {
    seen.push(`next ${String(error)}`);
    return null;
  });
  if (first) {
    seen.push(`extend ${await outcome(first.extend(1000))}`);
    seen.push(`ack ${await outcome(first.ack())}`);
  }
  const second = await queue.next({ leaseMs: 1000 }).catch(() => null);
  if (second) seen.push(`fail ${await outcome(second.fail(new Error('x')))}`);
  const worker = queue.process(
    async (job) => {
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 700));
      if (job.payload === 'c') throw new Error('handler');
    },
    { leaseMs: 1000, concurrency: 1, onError: (error) => seen.push(`onError ${String(error)}`) },
  );
  for (let i = 0; i < 40; i++) {
    await clock.advance(100);
    await settle(3);
  }
  await worker.close({ timeout: 0 });
  seen.push(`worker closed ${worker.closed}`);
  seen.push(`stats ${await outcome(queue.stats())}`);
  seen.push(`get ${await outcome(queue.get('1'))}`);
  seen.push(`list ${await outcome(queue.list())}`);
  seen.push(`redrive ${await outcome(queue.redrive())}`);
  seen.push(`clean ${await outcome(queue.clean({ status: 'done', olderThan: 0 }))}`);
  await base.enqueue('q', [record('e')], clock.now());
  const held = await queue.next().catch(() => null);
  seen.push(`held ${held !== null}`);
  seen.push(`close ${await outcome(queue.close({ timeout: 0 }))}`);
  seen.push(`jobs ${(await base.list('q', {})).map((job) => `${job.payload}:${job.status}`).join(' ')}`);
  seen.push(`timers ${clock.pendingTimers}`);
  unhandled.stop();
  seen.push(`unhandled ${unhandled.reasons.length}`);
  await base.close();
  return seen;
}

function record(payload: string) {
  return {
    payload: JSON.stringify(payload),
    priority: 0,
    key: null,
    maxAttempts: 1,
    backoff: null,
    runAt: 0,
  };
}

describe('a custom store method that throws synchronously instead of rejecting', () => {
  it.each(METHODS)('%s(): every call, hook, job state and timer as when it rejects', async (method) => {
    expect(await trace(method, 'throws')).toEqual(await trace(method, 'rejects'));
  });
});

const stores: [string, () => QueueStore][] = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: ':memory:' })],
];

describe.each(stores)('a job taken with next() and left to lapse (%s store)', (_name, createStore) => {
  /** A queue on a fresh store, and another queue object on it, whose job taken with next() has just lapsed. */
  async function lapsed() {
    const clock = createFakeClock({ now: 1_000_000 });
    const store = createStore();
    const queue = createQueue<string>({ name: 'q', store, clock });
    const other = createQueue<string>({ name: 'q', store, clock });
    await queue.push('a');
    const old = await queue.next({ leaseMs: 1000 });
    if (old === null) throw new Error('no job');
    await clock.advance(1000);
    return { clock, store, queue, other, old };
  }

  it("claimed again by the same queue object: close() still waits for the new holder after the old holder's ack and extend were refused", async () => {
    const { clock, store, queue, old } = await lapsed();
    const fresh = await queue.next();
    if (fresh === null) throw new Error('no job');
    expect(fresh.id).toBe(old.id);
    expect(await outcome(old.extend(5000))).toBe('ERR_LEASE_LOST');
    expect(await outcome(old.ack())).toBe('ERR_LEASE_LOST');
    let closed = false;
    const closing = queue.close().then(() => {
      closed = true;
    });
    await settle();
    await clock.advance(5000);
    await settle();
    // Dropping the job's entry by id alone (not only when it is the old lease's) let the old holder's refused ack
    // drop the new lease too: close() resolved at once and left the new holder's job unreturned.
    expect(closed).toBe(false);
    await fresh.ack();
    await closing;
    expect((await queue.get(fresh.id))?.status).toBe('done');
    await store.close();
  });

  it('taken over by another queue object: its old holder gets LeaseLostError after close() as before it (close() returned nothing)', async () => {
    const { clock, store, queue, other, old } = await lapsed();
    const fresh = await other.next();
    if (fresh === null) throw new Error('no job');
    const closing = queue.close({ timeout: 100 });
    await clock.advance(100);
    await closing;
    // Before: close()'s release, fenced off, marked the lease lost, so the holder's first ack() said JobSettledError.
    expect(await outcome(old.ack())).toBe('ERR_LEASE_LOST');
    expect(await outcome(old.ack())).toBe('ERR_JOB_SETTLED');
    await fresh.ack();
    expect((await other.get(fresh.id))?.status).toBe('done');
    await other.close();
    await store.close();
  });
});
