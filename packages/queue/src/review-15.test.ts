/**
 * Review round 15: payloads JSON.stringify would not write as they are; plain objects of another realm; stats()
 * and both stores under process() workers.
 */
import { runInNewContext } from 'node:vm';
import { createQueue, type Job, memoryStore, PayloadError, type QueueStore } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const stores: [string, () => QueueStore][] = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: ':memory:' })],
];

/** An array carrying a `toJSON` method, as a data-access layer may hand out its result rows. */
function withToJSON(result: unknown): unknown[] {
  const rows: unknown[] = [1, 2];
  Object.defineProperty(rows, 'toJSON', { value: () => result, enumerable: false });
  return rows;
}

class Rows extends Array<number> {
  toJSON(): unknown {
    return undefined;
  }
}

describe.each(stores)('queue.push of an array with a toJSON method (%s)', (_name, createStore) => {
  it.each([
    ['a string', 'x'],
    ['undefined', undefined],
    ['a function', () => 1],
    ['a BigInt', 10n],
  ])(
    'refuses it with PayloadError naming its path and writes nothing, whatever toJSON returns (%s)',
    async (_what, result) => {
      const store = createStore();
      const queue = createQueue({ name: 'q', store });
      // Before: JSON.stringify called toJSON, so [1, 2] was stored as its result ({ list: [1, 2] } became
      // { list: 'x' } or {}), or push threw a bare TypeError instead of PayloadError.
      for (const [payload, path] of [
        [{ list: withToJSON(result) }, 'payload.list.toJSON'],
        [withToJSON(result), 'payload.toJSON'],
      ] as const) {
        const error = await queue.push(payload).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(PayloadError);
        expect(error).toMatchObject({ code: 'ERR_PAYLOAD_INVALID', path });
        const many = await queue.pushMany(['ok', payload]).catch((e: unknown) => e);
        expect(many).toMatchObject({ code: 'ERR_PAYLOAD_INVALID', index: 1 });
      }
      expect((await queue.stats()).total).toBe(0);
      await queue.close();
      await store.close();
    },
  );

  it('refuses a plain object whose toJSON is not enumerable (Object.keys misses it, JSON.stringify calls it)', async () => {
    const store = createStore();
    const queue = createQueue({ name: 'q', store });
    const user = { id: 7, token: 'secret' };
    Object.defineProperty(user, 'toJSON', { value: () => ({ id: 7 }), enumerable: false });
    // Before: stored as { user: { id: 7 } }, though the handler was pushed { id: 7, token: 'secret' }.
    await expect(queue.push({ user })).rejects.toMatchObject({
      code: 'ERR_PAYLOAD_INVALID',
      path: 'payload.user.toJSON',
    });
    expect((await queue.stats()).total).toBe(0);
    await queue.close();
    await store.close();
  });

  it('refuses an Array subclass whose toJSON is inherited, and still takes plain arrays', async () => {
    const store = createStore();
    const queue = createQueue({ name: 'q', store });
    const rows = Rows.from([1, 2]);
    await expect(queue.push({ rows })).rejects.toMatchObject({
      code: 'ERR_PAYLOAD_INVALID',
      path: 'payload.rows.toJSON',
    });
    const job = await queue.push({ rows: [1, [2, 3]] });
    expect((await queue.get(job.id))?.payload).toEqual({ rows: [1, [2, 3]] });
    expect((await queue.stats()).total).toBe(1);
    await queue.close();
    await store.close();
  });
});

describe.each(stores)('queue.push of plain data made in another realm (%s)', (_name, createStore) => {
  // Another realm's objects: a vm context, or under Jest's node environment what Node's own fetch() parses
  // (`await res.json()`), whose Object.prototype is not this one's.
  it('takes a plain object of another realm and stores it as JSON', async () => {
    const store = createStore();
    const queue = createQueue({ name: 'q', store });
    const payload = runInNewContext('({ to: "a@example.com", tags: ["x"], meta: { n: 1, none: null } })');
    // Before: PayloadError 'payload is a Object (only plain objects and arrays ...)'.
    const job = await queue.push(payload);
    expect((await queue.get(job.id))?.payload).toEqual({
      to: 'a@example.com',
      tags: ['x'],
      meta: { n: 1, none: null },
    });
    await queue.close();
    await store.close();
  });

  it("still refuses another realm's class instances (Date, Map) and writes nothing", async () => {
    const store = createStore();
    const queue = createQueue({ name: 'q', store });
    for (const [source, path] of [
      ['({ at: new Date(0) })', 'payload.at'],
      ['({ m: new Map() })', 'payload.m'],
      [
        '(() => { class Email { constructor() { this.to = "a" } }; return { e: new Email() } })()',
        'payload.e',
      ],
    ] as const)
      await expect(queue.push(runInNewContext(source))).rejects.toMatchObject({
        code: 'ERR_PAYLOAD_INVALID',
        path,
      });
    expect((await queue.stats()).total).toBe(0);
    await queue.close();
    await store.close();
  });
});

const settle = async (turns = 20): Promise<void> => {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

interface Push {
  readonly n: number;
  readonly priority: number;
  readonly delay: number;
  readonly key: string | undefined;
  readonly attempts: number;
}

type Cmd = { t: 'push'; jobs: Push[] } | { t: 'advance'; ms: number } | { t: 'redrive' };

const cmd = fc.oneof(
  fc.record({
    t: fc.constant('push' as const),
    jobs: fc.array(
      fc.record({
        n: fc.integer({ min: 0, max: 4 }),
        priority: fc.integer({ min: -1, max: 1 }),
        delay: fc.constantFrom(0, 0, 50, 500),
        key: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
        attempts: fc.integer({ min: 1, max: 3 }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
  }),
  fc.record({ t: fc.constant('advance' as const), ms: fc.constantFrom(1, 10, 100, 300, 1000) }),
  fc.record({ t: fc.constant('redrive' as const) }),
);

async function run(createStore: () => QueueStore, cmds: Cmd[], concurrency: number) {
  const clock = createFakeClock({ now: Date.UTC(2030, 0, 1) });
  const store = createStore();
  const log: string[] = [];
  const queue = createQueue<{ n: number; i: number }>({ name: 'q', store, clock, backoff: 20, leaseMs: 200 });
  let seq = 0;
  const worker = queue.process(
    async (job, { signal }) => {
      log.push(`start ${job.payload.i} a${job.attempts}`);
      const n = job.payload.n;
      if (n === 1) throw new Error('boom');
      if (n === 2) throw Object.assign(new Error('final'), { retryable: false });
      if (n === 3)
        await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      if (n === 4) await new Promise(() => {});
    },
    { concurrency, timeout: 250, pollInterval: 100 },
  );
  const snaps: unknown[] = [];
  for (const c of cmds) {
    if (c.t === 'push') {
      // Issued together, so the worker's next claim chooses among them (priority, due time, push order).
      await Promise.all(
        c.jobs.map((p) =>
          queue.push(
            { n: p.n, i: seq++ },
            { priority: p.priority, delay: p.delay, key: p.key, attempts: p.attempts },
          ),
        ),
      );
    } else if (c.t === 'advance')
      for (let left = c.ms; left > 0; left -= 5) {
        await clock.advance(Math.min(5, left));
        await settle(4);
      }
    else await queue.redrive();
    await settle();
    const s = await queue.stats();
    const jobs: Job[] = await queue.list({ limit: 10_000 });
    const by = { pending: 0, processing: 0, done: 0, dead: 0 };
    for (const j of jobs) by[j.status]++;
    expect(s.pending + s.processing + s.done + s.dead).toBe(s.total);
    expect(s.total).toBe(jobs.length);
    expect({ pending: s.pending, processing: s.processing, done: s.done, dead: s.dead }).toEqual(by);
    expect(s.delayed).toBeLessThanOrEqual(s.pending);
    expect(worker.running).toBeLessThanOrEqual(concurrency);
    snaps.push({ s, jobs: jobs.map((j) => [j.payload, j.status, j.attempts, j.runAt, j.lastError]) });
  }
  await worker.close({ timeout: 0 });
  await queue.close();
  await store.close();
  return { log, snaps };
}

describe('queue.process() on memory and sqlite side by side', () => {
  // Workers (concurrency 1-3, a deadline, handlers that ack, fail, fail for good, wait for their signal or hang)
  // over random pushes (priority, delay, key, attempts), time passing and redrives: after every step stats()
  // adds up to the jobs list() shows, by status, on each store, and both stores ran the same attempts in the
  // same order and hold the same jobs. Time moves 5 ms at a time so SQLite's group commits land as they would.
  it('keeps stats() equal to the jobs there are and both stores in step', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(cmd, { maxLength: 40 }),
        fc.integer({ min: 1, max: 3 }),
        async (cmds, conc) => {
          const a = await run(() => memoryStore(), cmds, conc);
          const b = await run(() => sqliteStore({ path: ':memory:' }), cmds, conc);
          expect(b.log).toEqual(a.log);
          expect(b.snaps).toEqual(a.snaps);
        },
      ),
      { seed: 15, numRuns: 100 },
    );
  }, 120_000);
});

describe.each(stores)('a queue name or key with a NUL character (%s)', (_name, createStore) => {
  // node:sqlite (the driver on Node >= 22.13 when better-sqlite3 is not built) reads text only up to a NUL: a
  // queue 'a\0b' found none of its jobs with get(), a key 'k\0x' came back as 'k'; Postgres refuses NUL in text.
  // Refused up front, as a lone surrogate is, so every store answers alike.
  it('refuses it with InvalidArgumentError and writes nothing', async () => {
    const store = createStore();
    expect(() => createQueue({ name: 'jobs\u0000a', store })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
    const queue = createQueue({ name: 'q', store });
    await expect(queue.push('p', { key: 'k\u0000x' })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await expect(queue.pushMany(['p'], { key: '\u0000' })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    expect((await queue.stats()).total).toBe(0);
    // Other control characters are kept as given.
    const job = await queue.push('p', { key: 'k\u0001\tx' });
    expect((await queue.get(job.id))?.key).toBe('k\u0001\tx');
    await queue.close();
    await store.close();
  });
});
