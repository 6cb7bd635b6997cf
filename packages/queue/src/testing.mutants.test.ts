/**
 * Mutation test of the conformance kit: each mutant is memoryStore() with ONE behaviour broken the way a
 * user's store plausibly breaks it. The kit's tests are collected with a fake runner and run against every
 * mutant; each mutant must fail at least one of them (a survivor is a hole in the kit), and the unmutated
 * memoryStore must pass them all (a kit test that fails a correct store is a false alarm).
 */
import { InvalidArgumentError } from '@integ/core';
import {
  type ClaimedRecord,
  type EnqueueResult,
  type JobRecord,
  memoryStore,
  type NewJobRecord,
  type QueueStore,
} from '@integ/queue';
import { type ConformanceRunner, queueConformance } from '@integ/queue/testing';
import { describe, expect, it } from 'vitest';
import { collectKit, kitFailures, runOne } from '../test/kit-runner.js';

// ---------------------------------------------------------------------------------------------------
// Mutant building blocks

type Mutation = (inner: QueueStore) => Partial<QueueStore>;

const mutant =
  (mutation: Mutation): (() => QueueStore) =>
  () => {
    const inner = memoryStore();
    return { ...inner, ...mutation(inner) };
  };

/** Overrides of every read that returns records, rewriting each record with `patch`. */
function patchReads(inner: QueueStore, patch: (record: JobRecord) => JobRecord): Partial<QueueStore> {
  const claimed = (r: ClaimedRecord): ClaimedRecord => ({ ...patch(r), stalled: r.stalled });
  return {
    enqueue: async (queue, jobs, now) =>
      (await inner.enqueue(queue, jobs, now)).map((r) => ({ ...r, job: patch(r.job) })),
    claim: async (queue, options) => (await inner.claim(queue, options)).map(claimed),
    get: async (id) => {
      const record = await inner.get(id);
      return record === null ? null : patch(record);
    },
    list: async (queue, options) => (await inner.list(queue, options)).map(patch),
    reap: async (queue, now, error) => (await inner.reap(queue, now, error)).map(patch),
  };
}

/**
 * Stores each job with one field rewritten (`store`) and reads it back as pushed: the store's ordering
 * or matching runs on the rewritten value while everything the queue reads looks right.
 */
function disguise<K extends 'priority' | 'runAt' | 'key'>(
  field: K,
  store: (job: NewJobRecord, now: number) => NewJobRecord[K],
): Mutation {
  return (inner) => {
    const original = new Map<string, NewJobRecord[K]>();
    const reads = patchReads(inner, (r) =>
      original.has(r.id) ? { ...r, [field]: original.get(r.id) as NewJobRecord[K] } : r,
    );
    return {
      ...reads,
      enqueue: async (queue, jobs, now) => {
        const results = await inner.enqueue(
          queue,
          jobs.map((job) => ({ ...job, [field]: store(job, now) })),
          now,
        );
        results.forEach((r, i) => {
          const job = jobs[i];
          if (r.created && job !== undefined) original.set(r.job.id, job[field]);
        });
        return results.map((r) => ({
          ...r,
          job: original.has(r.job.id) ? { ...r.job, [field]: original.get(r.job.id) } : r.job,
        }));
      },
      // `fail` sets runAt for a retry: from then on the stored value is the real one.
      fail: async (id, token, now, error, outcome) => {
        if (field === 'runAt') original.delete(id);
        return inner.fail(id, token, now, error, outcome);
      },
    };
  };
}

/** Stores `mangle(payload)`: what the queue reads back (claim, get, list) is the mangled text. */
const storedPayload =
  (mangle: (text: string) => string): Mutation =>
  (inner) => ({
    enqueue: (queue, jobs, now) =>
      inner.enqueue(
        queue,
        jobs.map((job) => ({ ...job, payload: mangle(job.payload) })),
        now,
      ),
  });

/** Applies `fn` to the token of the latest claim of the job instead of the caller's (no fencing). */
function unfenced(op: 'ack' | 'fail' | 'extend' | 'release'): Mutation {
  return (inner) => {
    const latest = new Map<string, number>();
    return {
      claim: async (queue, options) => {
        const records = await inner.claim(queue, options);
        for (const r of records) latest.set(r.id, r.token);
        return records;
      },
      [op]: (id: string, token: number, ...rest: unknown[]) =>
        (inner[op] as (...args: unknown[]) => Promise<boolean>)(id, latest.get(id) ?? token, ...rest),
    };
  };
}

/** Stats computed from `list()` with a custom rule for the oldest pending job. */
function oldestBy(pick: (pending: JobRecord[], now: number) => number | null): Mutation {
  return (inner) => ({
    stats: async (queue, now) => {
      const stats = await inner.stats(queue, now);
      const pending = await inner.list(queue, { status: 'pending', limit: 1_000_000 });
      return { ...stats, oldestPendingCreatedAt: pick(pending, now) };
    },
  });
}

const min = (values: number[]): number | null => (values.length === 0 ? null : Math.min(...values));

/** Drops nested objects and arrays below the top level, as a store flattening to a hash would. */
const flatten = (text: string): string =>
  JSON.stringify(JSON.parse(text), function (this: unknown, _key, value: unknown) {
    return this !== undefined &&
      typeof this === 'object' &&
      this !== null &&
      !Array.isArray(this) &&
      typeof value === 'object' &&
      value !== null &&
      _key !== ''
      ? {}
      : value;
  });

/** Active (pending or processing) holder of `key` in `queue`, read through `list()`. */
async function holderOf(inner: QueueStore, queue: string, key: string): Promise<JobRecord | undefined> {
  const all = await inner.list(queue, { limit: 1_000_000 });
  return all.find((r) => r.key === key && (r.status === 'pending' || r.status === 'processing'));
}

/**
 * Enqueues each job on its own (`decide` may look the store up first) and, where `decide` says so, inserts it
 * as if its key were free. Jobs without a key go straight through, so a pushMany stays atomic.
 */
function keyRule(decide: (job: NewJobRecord, queue: string) => Promise<'free' | 'as is'>): Mutation {
  return (inner) => ({
    enqueue: (queue, jobs, now) =>
      Promise.all(
        jobs.map(async (job): Promise<EnqueueResult> => {
          if (job.key !== null && (await decide(job, queue)) === 'free') {
            const [r] = await inner.enqueue(queue, [{ ...job, key: null }], now);
            return { created: true, job: { ...(r as EnqueueResult).job, key: job.key } };
          }
          return (await inner.enqueue(queue, [job], now))[0] as EnqueueResult;
        }),
      ),
  });
}

let pushes = 0;

// ---------------------------------------------------------------------------------------------------

const MUTANTS: Record<string, Mutation> = {
  'claims ignore priority': disguise('priority', () => 0),
  'claims ignore push order within a priority (LIFO)': (inner) => {
    let n = 0;
    return disguise('priority', (job) => job.priority * 1e6 + ++n)(inner);
  },
  'negative priorities stored as 0 (unsigned column)': disguise('priority', (job) =>
    Math.max(0, job.priority),
  ),
  'priorities stored as a 32-bit integer': disguise('priority', (job) => job.priority | 0),
  'delayed jobs claimable at once': disguise('runAt', (_job, now) => now),
  'lease never expires': (inner) => ({
    claim: (queue, options) => inner.claim(queue, { ...options, leaseMs: 1e12 }),
    extend: (id, token, leaseUntil) => inner.extend(id, token, leaseUntil + 1e12),
  }),
  'ack from a stale claim applies': unfenced('ack'),
  'fail from a stale claim applies': unfenced('fail'),
  'extend from a stale claim applies': unfenced('extend'),
  'release from a stale claim applies': unfenced('release'),
  'extend ignored': () => ({ extend: async () => true }),
  'ack not persisted': () => ({ ack: async () => true }),
  'claim not atomic (concurrent claimers get the same job)': (inner) => {
    let inflight: Promise<ClaimedRecord[]> | undefined;
    return {
      claim: (queue, options) => {
        if (inflight !== undefined) return inflight.then((records) => records.map((r) => ({ ...r })));
        const claim = inner.claim(queue, options);
        inflight = claim;
        // Cleared either way; the caller handles the rejection (a closed store), not this side chain.
        const clear = (): void => {
          if (inflight === claim) inflight = undefined;
        };
        claim.then(clear, clear);
        return claim;
      },
    };
  },
  'claim ignores limit': (inner) => ({
    claim: (queue, options) => inner.claim(queue, { ...options, limit: 1000 }),
  }),
  'stalled flag never set': (inner) => ({
    claim: async (queue, options) =>
      (await inner.claim(queue, options)).map((r) => ({ ...r, stalled: false })),
  }),
  'fail does not count the attempt': (inner) => {
    const given = new Map<string, number>();
    const patch = (r: JobRecord): JobRecord => ({ ...r, attempts: r.attempts - (given.get(r.id) ?? 0) });
    return {
      ...patchReads(inner, patch),
      fail: async (id, token, now, error, outcome) => {
        const ok = await inner.fail(id, token, now, error, outcome);
        if (ok && outcome.status === 'pending') given.set(id, (given.get(id) ?? 0) + 1);
        return ok;
      },
    };
  },
  'fail ignores the retry time': (inner) => ({
    fail: (id, token, now, error, outcome) =>
      inner.fail(
        id,
        token,
        now,
        error,
        outcome.status === 'pending' ? { status: 'pending', runAt: now } : outcome,
      ),
  }),
  'fail never makes a job dead': (inner) => ({
    fail: (id, token, now, error) => inner.fail(id, token, now, error, { status: 'pending', runAt: now }),
  }),
  'dead job loses its last error': (inner) =>
    patchReads(inner, (r) => (r.status === 'dead' ? { ...r, lastError: null } : r)),
  'reap never dead-letters an expired last attempt': () => ({ reap: async () => [] }),
  'release keeps the attempt': (inner) => ({
    release: (id, token, now) => inner.fail(id, token, now, 'released', { status: 'pending', runAt: now }),
  }),
  'redrive does nothing': () => ({ redrive: async () => 0 }),
  'redrive does not reset attempts': (inner) => {
    const carried = new Map<string, number>();
    return {
      ...patchReads(inner, (r) => ({ ...r, attempts: r.attempts + (carried.get(r.id) ?? 0) })),
      redrive: async (queue, options) => {
        const dead = await inner.list(queue, { status: 'dead', limit: 1_000_000 });
        const n = await inner.redrive(queue, options);
        for (const before of dead) {
          const after = await inner.get(before.id);
          if (after?.status === 'pending') carried.set(before.id, before.attempts);
        }
        return n;
      },
    };
  },
  'key dedupe missing': disguise('key', () => null),
  'key dedupe too strict (a done key stays taken)': (inner) => {
    const ever = new Map<string, string>();
    return {
      enqueue: async (queue, jobs, now) => {
        const results = [];
        for (const job of jobs) {
          const id = job.key === null ? undefined : ever.get(`${queue}\0${job.key}`);
          const held = id === undefined ? null : await inner.get(id);
          if (held !== null) {
            results.push({ job: held, created: false });
            continue;
          }
          const [result] = await inner.enqueue(queue, [job], now);
          if (result === undefined) throw new Error('no result');
          if (job.key !== null) ever.set(`${queue}\0${job.key}`, result.job.id);
          results.push(result);
        }
        return results;
      },
    };
  },
  'keys shared across queues': (inner) => {
    const holders = new Map<string, string>();
    return {
      enqueue: async (queue, jobs, now) => {
        const results = [];
        for (const job of jobs) {
          const id = job.key === null ? undefined : holders.get(job.key);
          const held = id === undefined ? null : await inner.get(id);
          if (held !== null && (held.status === 'pending' || held.status === 'processing')) {
            results.push({ job: held, created: false });
            continue;
          }
          const [result] = await inner.enqueue(queue, [job], now);
          if (result === undefined) throw new Error('no result');
          if (job.key !== null) holders.set(job.key, result.job.id);
          results.push(result);
        }
        return results;
      },
    };
  },
  'pushMany not atomic (jobs appear one by one)': (inner) => ({
    enqueue: async (queue, jobs, now) => {
      const results = [];
      for (const job of jobs) {
        results.push(...(await inner.enqueue(queue, [job], now)));
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      return results;
    },
  }),
  'payload loses nested data': storedPayload(flatten),
  'payload text mangled (UTF-8 read as Latin-1)': storedPayload((text) =>
    Buffer.from(text, 'utf8').toString('latin1'),
  ),
  'payload cut at 255 characters': storedPayload((text) => text.slice(0, 255)),
  'stats count dead jobs as done': (inner) => ({
    stats: async (queue, now) => {
      const s = await inner.stats(queue, now);
      return { ...s, done: s.done + s.dead, dead: 0 };
    },
  }),
  'stats miss processing jobs': (inner) => ({
    stats: async (queue, now) => ({ ...(await inner.stats(queue, now)), processing: 0 }),
  }),
  'stats leave delayed jobs out of pending': (inner) => ({
    stats: async (queue, now) => {
      const s = await inner.stats(queue, now);
      return { ...s, pending: s.pending - s.delayed };
    },
  }),
  'stats count no delayed jobs': (inner) => ({
    stats: async (queue, now) => ({ ...(await inner.stats(queue, now)), delayed: 0 }),
  }),
  'oldest pending includes delayed jobs': oldestBy((pending) => min(pending.map((r) => r.createdAt))),
  'oldest pending measured from runAt': oldestBy((pending, now) =>
    min(pending.filter((r) => r.runAt <= now).map((r) => r.runAt)),
  ),
  'oldest pending is the newest': oldestBy((pending, now) => {
    const due = pending.filter((r) => r.runAt <= now).map((r) => r.createdAt);
    return due.length === 0 ? null : Math.max(...due);
  }),
  'list ignores offset': (inner) => ({
    list: (queue, options) => inner.list(queue, { ...options, offset: 0 }),
  }),
  'clean ignores finishedBefore': (inner) => ({
    clean: (queue, options) => inner.clean(queue, { ...options, finishedBefore: Number.MAX_SAFE_INTEGER }),
  }),
  'clean removes dead jobs when asked for done ones': (inner) => ({
    clean: async (queue, options) =>
      (await inner.clean(queue, options)) + (await inner.clean(queue, { ...options, status: 'dead' })),
  }),
  'stats count every queue of the store': (inner) => ({
    stats: async (_queue, now) => {
      const [a, b, c] = await Promise.all(['conformance', 'a', 'b'].map((q) => inner.stats(q, now)));
      const sum = (k: 'pending' | 'processing' | 'done' | 'dead' | 'delayed'): number =>
        (a?.[k] ?? 0) + (b?.[k] ?? 0) + (c?.[k] ?? 0);
      return {
        ...(a as NonNullable<typeof a>),
        pending: sum('pending'),
        processing: sum('processing'),
        done: sum('done'),
        dead: sum('dead'),
        delayed: sum('delayed'),
      };
    },
  }),
  'jobs stamped with the backend clock': (inner) => ({
    enqueue: (queue, jobs, now) =>
      inner.enqueue(
        queue,
        jobs.map((job) => ({ ...job, runAt: job.runAt - now + Date.now() })),
        Date.now(),
      ),
  }),
  'close() leaves the store working': () => ({ close: async () => {} }),
  'leases timed by the backend clock': (inner) => ({
    claim: (queue, options) => inner.claim(queue, { ...options, now: Date.now() }),
  }),
  // Added by the second review: each survived the kit until the kit test named in decision 0132 was added.
  'fencing token derived from attempts (repeats after a release or a redrive)': (inner) => {
    const real = new Map<string, number>();
    const toReal = (id: string, token: number): number => real.get(`${id}:${token}`) ?? -1;
    return {
      ...patchReads(inner, (r) => ({ ...r, token: r.attempts })),
      claim: async (queue, options) =>
        (await inner.claim(queue, options)).map((r) => {
          real.set(`${r.id}:${r.attempts}`, r.token);
          return { ...r, token: r.attempts };
        }),
      ack: (id, token, now) => inner.ack(id, toReal(id, token), now),
      fail: (id, token, now, error, outcome) => inner.fail(id, toReal(id, token), now, error, outcome),
      extend: (id, token, leaseUntil) => inner.extend(id, toReal(id, token), leaseUntil),
      release: (id, token, now) => inner.release(id, toReal(id, token), now),
    };
  },
  'reap ignores the lease (dead-letters a running last attempt)': (inner) => ({
    reap: (queue, _now, error) => inner.reap(queue, Number.MAX_SAFE_INTEGER, error),
  }),
  'ack checks the token but not the status (settles a job dead-lettered under its holder)': (inner) => {
    const latest = new Map<string, number>();
    return {
      claim: async (queue, options) => {
        const records = await inner.claim(queue, options);
        for (const r of records) latest.set(r.id, r.token);
        return records;
      },
      ack: async (id, token, now) => {
        const r = await inner.get(id);
        if (r?.status !== 'dead' || latest.get(id) !== token) return inner.ack(id, token, now);
        await inner.redrive(r.queue, { now, ids: [id] });
        const [again] = await inner.claim(r.queue, { now, leaseMs: 1, limit: 1 });
        return inner.ack(id, again?.token ?? -1, now);
      },
    };
  },
  'key freed while its job waits for a retry': (inner) => {
    const failed = new Set<string>();
    return {
      ...keyRule(async (job, queue) => {
        const holder = await holderOf(inner, queue, job.key as string);
        return holder !== undefined && failed.has(holder.id) ? 'free' : 'as is';
      })(inner),
      fail: async (id, token, now, error, outcome) => {
        const ok = await inner.fail(id, token, now, error, outcome);
        if (ok) failed.add(id);
        return ok;
      },
    };
  },
  'key stays taken by a dead job': (inner) => ({
    enqueue: (queue, jobs, now) =>
      Promise.all(
        jobs.map(async (job): Promise<EnqueueResult> => {
          const all = job.key === null ? [] : await inner.list(queue, { status: 'dead', limit: 1_000_000 });
          const dead = all.find((r) => r.key === job.key);
          if (dead !== undefined) return { created: false, job: dead };
          return (await inner.enqueue(queue, [job], now))[0] as EnqueueResult;
        }),
      ),
  }),
  'redrive does not take the key back': (inner) => {
    const redriven = new Set<string>();
    return {
      ...keyRule(async (job, queue) =>
        redriven.has((await holderOf(inner, queue, job.key as string))?.id ?? '') ? 'free' : 'as is',
      )(inner),
      redrive: async (queue, options) => {
        const dead = await inner.list(queue, { status: 'dead', limit: 1_000_000 });
        const n = await inner.redrive(queue, options);
        for (const r of dead) if ((await inner.get(r.id))?.status === 'pending') redriven.add(r.id);
        return n;
      },
    };
  },
  'pushMany does not dedupe keys within itself': (inner) => ({
    enqueue: async (queue, jobs, now) => {
      const seen = new Set<string | null>([null]);
      const batch = jobs.map((job) => {
        const repeated = seen.has(job.key);
        seen.add(job.key);
        return repeated ? { ...job, key: null } : job;
      });
      const results = await inner.enqueue(queue, batch, now);
      return results.map((r, i) => ({ ...r, job: { ...r.job, key: jobs[i]?.key ?? null } }));
    },
  }),
  'claims ignore the due time (push order within a priority)': disguise('priority', (job) =>
    Math.abs(job.priority) < 1000 ? job.priority * 1e9 - ++pushes : job.priority,
  ),
  'a claim of several jobs takes them in push order, not priority order': (inner) => ({
    claim: async (queue, options) => {
      if (options.limit === 1) return inner.claim(queue, options);
      const all = await inner.claim(queue, { ...options, limit: 100_000 });
      const byPush = [...all].sort((a, b) => Number(a.id) - Number(b.id));
      const keep = byPush.slice(0, options.limit);
      for (const r of byPush.slice(options.limit)) await inner.release(r.id, r.token, options.now);
      return keep;
    },
  }),
  'stalled set on every re-delivery (a retry, a released job)': (inner) => ({
    claim: async (queue, options) =>
      (await inner.claim(queue, options)).map((r) => ({
        ...r,
        stalled: r.stalled || r.attempts > 1 || r.token > 1,
      })),
  }),
  'redrive clears lastError': (inner) => {
    const cleared = new Set<string>();
    return {
      ...patchReads(inner, (r) => (cleared.has(r.id) && r.status !== 'dead' ? { ...r, lastError: null } : r)),
      redrive: async (queue, options) => {
        const dead = await inner.list(queue, { status: 'dead', limit: 1_000_000 });
        const n = await inner.redrive(queue, options);
        for (const r of dead) if ((await inner.get(r.id))?.status === 'pending') cleared.add(r.id);
        return n;
      },
      fail: async (id, token, now, error, outcome) => {
        cleared.delete(id);
        return inner.fail(id, token, now, error, outcome);
      },
    };
  },
  'ack clears lastError': (inner) =>
    patchReads(inner, (r) => (r.status === 'done' ? { ...r, lastError: null } : r)),
  'redrive restamps createdAt (the job timestamp)': (inner) => {
    const stamped = new Map<string, number>();
    return {
      ...patchReads(inner, (r) => (stamped.has(r.id) ? { ...r, createdAt: stamped.get(r.id) as number } : r)),
      redrive: async (queue, options) => {
        const dead = await inner.list(queue, { status: 'dead', limit: 1_000_000 });
        const n = await inner.redrive(queue, options);
        for (const r of dead)
          if ((await inner.get(r.id))?.status === 'pending') stamped.set(r.id, options.now);
        return n;
      },
    };
  },
  'stats count a job due exactly now as delayed': (inner) => ({
    stats: async (queue, now) => {
      const s = await inner.stats(queue, now);
      const pending = await inner.list(queue, { status: 'pending', limit: 1_000_000 });
      return { ...s, delayed: pending.filter((r) => r.runAt >= now).length };
    },
  }),
  'oldest pending leaves out a job due exactly now': oldestBy((pending, now) =>
    min(pending.filter((r) => r.runAt < now).map((r) => r.createdAt)),
  ),
  // A store that moves rows one round trip at a time (a Redis store without one Lua script, SQL without a transaction):
  // another call sees part of a claim or a redrive.
  'a claim of several jobs takes them one by one (others see part of it)': (inner) => ({
    claim: async (queue, options) => {
      const claimed: ClaimedRecord[] = [];
      while (claimed.length < options.limit) {
        const [record] = await inner.claim(queue, { ...options, limit: 1 });
        if (record === undefined) break;
        claimed.push(record);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      return claimed;
    },
  }),
  'redrive moves dead jobs one by one (others see part of it)': (inner) => ({
    redrive: async (queue, options) => {
      const dead = await inner.list(queue, { status: 'dead', limit: 10_000 });
      let count = 0;
      for (const { id } of dead) {
        if (options.limit !== undefined && count >= options.limit) break;
        if (options.ids !== undefined && !options.ids.includes(id)) continue;
        count += await inner.redrive(queue, { now: options.now, ids: [id] });
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      return count;
    },
  }),
  // The same for a pushMany whose first row lands a turn after the call (its commit waits for a round trip):
  // the kit's pushMany test looked only between promise callbacks, so it never saw the rows arrive.
  'pushMany commits one job per event-loop turn (others see part of it)': (inner) => ({
    enqueue: async (queue, jobs, now) => {
      const results: EnqueueResult[] = [];
      for (const job of jobs) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        results.push(...(await inner.enqueue(queue, [job], now)));
      }
      return results;
    },
  }),
  // Added by review 42: each caught by a kit test that caught no broken store before (see CAUGHT_BY).
  // SQL's SUM(CASE ...) over no rows is NULL, not 0; and null + null is 0, so a total alone does not show it.
  'stats of an empty queue are null, not 0 (SUM over no rows)': (inner) => ({
    stats: async (queue, now) => {
      const s = await inner.stats(queue, now);
      if (s.pending + s.processing + s.done + s.dead > 0) return s;
      const none = null as unknown as number;
      return { ...s, pending: none, processing: none, done: none, dead: none, delayed: none };
    },
  }),
  // A claim that reads the first row of an empty result (a Lua script indexing an empty pop, PL/pgSQL's SELECT
  // INTO STRICT) throws instead of answering [].
  'claim rejects when nothing is due': (inner) => ({
    claim: async (queue, options) => {
      const records = await inner.claim(queue, options);
      if (records.length === 0) throw new Error('claim: no row to take');
      return records;
    },
  }),
  // A multi-row INSERT ... RETURNING promises no order: the queue pairs the i-th answer with the i-th payload.
  'enqueue answers a batch in another order than given': (inner) => ({
    enqueue: async (queue, jobs, now) => (await inner.enqueue(queue, jobs, now)).reverse(),
  }),
  // Added by review 42 for assertions no other broken store reached (Stryker on testing.ts 251-600).
  // Answers the new job from the hash it wrote (a Redis store reading fields back unparsed): attempts is text.
  'enqueue answers attempts as text': (inner) => ({
    enqueue: async (queue, jobs, now) =>
      (await inner.enqueue(queue, jobs, now)).map((r) => ({
        ...r,
        job: { ...r.job, attempts: String(r.job.attempts) as unknown as number },
      })),
  }),
  // INSERT ... ON CONFLICT DO UPDATE ... RETURNING answers the holder as if inserted: the queue shows the new payload.
  'a taken key answers created: true': (inner) => ({
    enqueue: async (queue, jobs, now) =>
      (await inner.enqueue(queue, jobs, now)).map((r) => ({ ...r, created: true })),
  }),
  // Keys kept only in a unique index (a Redis SETNX key) and not on the job: dedupe works, the job shows no key.
  'key not kept on the job': (inner) => patchReads(inner, (r) => ({ ...r, key: null })),
  // A unique index on the key WHERE status = 'pending' only: a key is free again once its job is claimed.
  'key freed once its job is claimed': (inner) =>
    keyRule(async (job, queue) =>
      (await holderOf(inner, queue, job.key as string))?.status === 'processing' ? 'free' : 'as is',
    )(inner),
  // A unique index on (queue) WHERE key IS NOT NULL, the key column left out: one keyed job per queue.
  'any key takes the place of any other': disguise('key', (job) => (job.key === null ? null : 'one')),
  // A unique index on the key WHERE status <> 'dead': a done job keeps its key.
  'key stays taken by a done job': (inner) => ({
    enqueue: (queue, jobs, now) =>
      Promise.all(
        jobs.map(async (job): Promise<EnqueueResult> => {
          const done = job.key === null ? [] : await inner.list(queue, { status: 'done', limit: 1_000_000 });
          const held = done.find((r) => r.key === job.key);
          if (held !== undefined) return { created: false, job: held };
          return (await inner.enqueue(queue, [job], now))[0] as EnqueueResult;
        }),
      ),
  }),
  // Payloads kept in Postgres jsonb, which refuses the escape \u0000 ("unsupported Unicode escape sequence").
  'payload with \\u0000 refused (a jsonb column)': (inner) => ({
    enqueue: async (queue, jobs, now) => {
      if (jobs.some((job) => job.payload.includes('\\u0000')))
        throw new Error('unsupported Unicode escape sequence');
      return inner.enqueue(queue, jobs, now);
    },
  }),
  // A backend with a smaller item limit than the queue's 1 MiB default (DynamoDB's 400 KB).
  'payload over 400 KB refused': (inner) => ({
    enqueue: async (queue, jobs, now) => {
      if (jobs.some((job) => Buffer.byteLength(job.payload) > 400_000))
        throw new Error('Item size has exceeded the maximum allowed size');
      return inner.enqueue(queue, jobs, now);
    },
  }),
  // A claim that takes expired leases by lease_until alone (`OR lease_until <= now`, no status check) and writes only
  // the lease of a row it takes that way (token, attempts, lease_until: such a row is processing, it assumes); ack sets
  // status = 'done' and ends the lease (lease_until = now). A done job is handed out again at the next claim and stays
  // done in the store, so its new holder's ack, extend and fail are refused. The worker kept that handler running,
  // and worker.close() waited for it on the kit's clock: the kit test hung (review 42, QUEUEHANG).
  'claim hands out a done job again once its lease ran out': (inner) => {
    const leases = new Map<string, { token: number; attempts: number; leaseUntil: number }>();
    return {
      ...patchReads(inner, (r) => {
        const lease = r.status === 'done' ? leases.get(r.id) : undefined;
        return lease === undefined ? r : { ...r, ...lease };
      }),
      claim: async (queue, options) => {
        const claimed = await inner.claim(queue, options);
        for (const r of await inner.list(queue, { status: 'done', limit: 1_000_000 })) {
          const lease = leases.get(r.id);
          if (claimed.length >= options.limit || lease === undefined) continue;
          if (lease.leaseUntil > options.now || lease.attempts >= r.maxAttempts) continue;
          const taken = {
            token: lease.token + 1,
            attempts: lease.attempts + 1,
            leaseUntil: options.now + options.leaseMs,
          };
          leases.set(r.id, taken);
          claimed.push({ ...r, ...taken, status: 'processing', stalled: true });
        }
        return claimed;
      },
      ack: async (id, token, now) => {
        const acked = await inner.ack(id, token, now);
        const r = acked ? await inner.get(id) : null;
        if (r !== null) leases.set(id, { token: r.token, attempts: r.attempts, leaseUntil: now });
        return acked;
      },
    };
  },
  // The same WHERE in a claim that answers every row it selected but leases only the pending and processing ones
  // (`UPDATE ... WHERE id IN (...) AND status IN ('pending', 'processing')`), with ack clearing lease_until and the
  // claim reading it as COALESCE(lease_until, 0): every claim answers the done job, never leased. The worker ran it,
  // its ack refused, and claimed it again at once, in promise callbacks only: no timer fired, not even the runner's.
  'claim answers a done job it did not lease': (inner) => ({
    claim: async (queue, options) => {
      const claimed = await inner.claim(queue, options);
      for (const r of await inner.list(queue, { status: 'done', limit: 1_000_000 }))
        if (claimed.length < options.limit && r.attempts < r.maxAttempts)
          claimed.push({ ...r, status: 'processing', stalled: true });
      return claimed;
    },
  }),
  // The lease kept in one key per queue (a Redis `SET <queue>:lease <token>` each claim overwrites) instead of on the
  // job: only the job claimed last can be acked. The queue.close() kit test failed its ack after starting
  // close({ timeout: 1000 }) and before moving the clock past it; the after-hook's close() got that close's promise,
  // waiting on the kit's clock for the other job: the kit test hung (review 42, QUEUECLOSE).
  'ack accepts only the job claimed last (one lease key per queue)': (inner) => {
    let latest: string | undefined;
    return {
      claim: async (queue, options) => {
        const records = await inner.claim(queue, options);
        latest = records[records.length - 1]?.id ?? latest;
        return records;
      },
      ack: async (id, token, now) => (id === latest ? inner.ack(id, token, now) : false),
    };
  },
  // A claim whose SELECT joins a table with two rows per job (attempt history, tags) and answers each row: the worker
  // ran the job twice at once. The close() kit test ended one handler and waited, in its body, for close() to settle:
  // the other one kept it waiting for its timeout on the kit's clock (review 42, QUEUECLOSE).
  'claim answers each job twice (a join doubling rows)': (inner) => ({
    claim: async (queue, options) => {
      const records = await inner.claim(queue, options);
      return records.flatMap((r) => [r, { ...r }]);
    },
  }),
  // The store bugs of two more such kit tests were in the catalogue already, pinned to them in CAUGHT_BY: payload text
  // stored as Latin-1 (the size-limit test) and a release that keeps the attempt (queue.close() with a claim in flight).
};

/** Broken stores that a given kit test must fail: each is the store bug that kit test is there to catch. */
const CAUGHT_BY: Record<string, string> = {
  'stats of an empty queue are null, not 0 (SUM over no rows)':
    'push > refuses payloads that are not JSON, and stores nothing',
  'payload text mangled (UTF-8 read as Latin-1)': 'push > refuses a payload over maxPayloadBytes',
  'claim rejects when nothing is due': 'next > returns null when nothing is due',
  'enqueue answers a batch in another order than given':
    'push > pushMany inserts all jobs in order, atomically',
  'enqueue answers attempts as text':
    'push > returns { id, timestamp, payload, status, attempts } with an ISO timestamp',
  'a taken key answers created: true':
    'push > deduplicates by key while a job with that key is pending or processing',
  'key not kept on the job': 'push > deduplicates by key while a job with that key is pending or processing',
  'key freed once its job is claimed':
    'push > deduplicates by key while a job with that key is pending or processing',
  'any key takes the place of any other':
    'push > deduplicates by key while a job with that key is pending or processing',
  'key stays taken by a done job':
    'push > deduplicates by key while a job with that key is pending or processing',
  'payload with \\u0000 refused (a jsonb column)':
    'push > returns payloads exactly as pushed: nested data, any character, up to maxPayloadBytes',
  'payload over 400 KB refused':
    'push > returns payloads exactly as pushed: nested data, any character, up to maxPayloadBytes',
  'release keeps the attempt':
    'process > queue.close() closes its workers, returns the jobs of their claim in flight to pending, and refuses pushes',
  'claim hands out a done job again once its lease ran out':
    'process > keeps the lease alive while the handler runs',
  'claim answers a done job it did not lease':
    'process > aborts a handler past its deadline, fails the attempt and frees the slot',
  'claim answers each job twice (a join doubling rows)':
    'process > close() waits for running jobs within its timeout',
  'ack accepts only the job claimed last (one lease key per queue)':
    'process > queue.close() returns jobs taken with next() and not settled to pending after its timeout',
};

describe('queueConformance (mutation test of the kit)', () => {
  it('passes the unmutated memoryStore', async () => {
    expect(await kitFailures(() => memoryStore())).toEqual({});
  });

  for (const [name, mutation] of Object.entries(MUTANTS)) {
    it(`kills the mutant: ${name}`, async () => {
      const failed = await kitFailures(mutant(mutation));
      expect(Object.keys(failed).length, `no kit test failed the mutant "${name}"`).toBeGreaterThan(0);
      // A kit test the watchdog stopped tells its user nothing (their runner's timeout is all they see); kitFailures
      // runs no kit test after it.
      const hung = Object.entries(failed).filter(([, error]) => error.startsWith('watchdog'));
      expect(hung, `kit tests that hung on the mutant "${name}"`).toEqual([]);
      const by = CAUGHT_BY[name];
      if (by !== undefined) expect(Object.keys(failed), `"${by}" passed the mutant "${name}"`).toContain(by);
    });
  }
});

describe('queueConformance (a broken store as a user meets it)', () => {
  /** Runs the named kit tests against `createStore` with a short call timeout; counts closes and cleanups. */
  async function run(
    names: readonly string[],
    broken: (inner: QueueStore) => Partial<QueueStore>,
    createStore?: () => QueueStore,
  ): Promise<{ errors: (string | undefined)[]; closed: number; cleaned: number; ms: number }> {
    let closed = 0;
    let cleaned = 0;
    const kit = collectKit({
      name: 'mutant',
      createStore:
        createStore ??
        (() => {
          const inner = memoryStore();
          return {
            ...inner,
            close: async () => {
              closed += 1;
            },
            ...broken(inner),
          };
        }),
      callTimeout: 50,
      cleanup: () => {
        cleaned += 1;
      },
    });
    const tests = names.map((name) => kit.find((t) => t.name === name));
    expect(tests.includes(undefined)).toBe(false);
    const started = Date.now();
    const errors: (string | undefined)[] = [];
    for (const test of tests) if (test !== undefined) errors.push(await runOne(test));
    return { errors, closed, cleaned, ms: Date.now() - started };
  }

  const NAMES = [
    'next > returns null when nothing is due',
    'process > runs the handler for each job and acks it',
  ];

  it('fails a store call that never settles with a message naming it, and still closes and cleans up', async () => {
    const result = await run(NAMES, () => ({ claim: () => new Promise(() => {}) }));
    expect(result.errors).toEqual([
      'conformance (mutant): store.claim() did not settle within 50 ms (every store call must resolve or reject; raise callTimeout for a slow backend)',
      expect.stringMatching(
        /timed out waiting for three jobs done \(last store error: store\.claim\(\) did not settle within 50 ms/,
      ),
    ]);
    expect([result.closed, result.cleaned]).toEqual([2, 2]);
    expect(result.ms).toBeLessThan(1500);
  });

  it('fails a store that hands out a done job again with a message naming it, instead of hanging', async () => {
    // Each test hung on the old kit: worker.close() waited for the handler of the job handed out again on the kit's
    // clock, which nothing advanced; the second one because the first one's body and after-hooks were still running.
    const result = await run(
      [
        'process > keeps the lease alive while the handler runs',
        'process > aborts a handler past its deadline, fails the attempt and frees the slot',
      ],
      MUTANTS['claim hands out a done job again once its lease ran out'] as Mutation,
    );
    expect(result.errors).toEqual([
      expect.stringMatching(
        /timed out waiting for the worker to be idle .* the store handed out a job that was done/,
      ),
      // ran is ['hangs', 'quick', 'quick']: the quick job ran again after its ack.
      expect.stringMatching(/^Expected values to be strictly deep-equal/),
    ]);
    expect([result.closed, result.cleaned]).toEqual([2, 2]);
  });

  it('fails a store whose worker takes the same job for ever with a message, instead of freezing the runner', async () => {
    // On the old kit no timer fired any more (the runner's timeout neither): the run had to be killed.
    const result = await run(
      ['process > aborts a handler past its deadline, fails the attempt and frees the slot'],
      MUTANTS['claim answers a done job it did not lease'] as Mutation,
    );
    expect(result.errors).toEqual([
      expect.stringMatching(
        /^conformance \(mutant\): the store calls never stopped after the clock moved \(10000 and the store never idle; the last ones: .*claim.*\): a worker is taking a job again and again/,
      ),
    ]);
    expect([result.closed, result.cleaned]).toEqual([1, 1]);
  });

  it('fails a store whose methods throw synchronously with their error, and still cleans up', async () => {
    const boom = (what: string) => () => {
      throw new Error(`${what} threw`);
    };
    const result = await run(NAMES, () => ({
      claim: boom('claim'),
      enqueue: boom('enqueue'),
      close: boom('close'),
    }));
    expect(result.errors).toEqual(['claim threw', 'enqueue threw']);
    expect(result.cleaned).toBe(2);
  });

  it('cleans up after a failing test even when close() never settles', async () => {
    const result = await run(NAMES.slice(0, 1), () => ({
      claim: async () => {
        throw new Error('claim failed');
      },
      close: () => new Promise(() => {}),
    }));
    expect(result.errors).toEqual(['claim failed']);
    expect(result.cleaned).toBe(1);
  });

  it('reports a createStore() that throws or returns no store, and cleans up no other store', async () => {
    let made = 0;
    const thrown = await run(
      [NAMES[0] as string, NAMES[0] as string],
      () => ({}),
      () => {
        made += 1;
        if (made === 1) return memoryStore();
        throw new Error('cannot connect');
      },
    );
    // The second test's afterEach must not close or clean up the first test's store again.
    expect([thrown.errors, thrown.cleaned]).toEqual([[undefined, 'cannot connect'], 1]);
    const empty = await run(
      NAMES.slice(0, 1),
      () => ({}),
      () => undefined as unknown as QueueStore,
    );
    expect(empty.errors).toEqual([
      'conformance (mutant): createStore() returned undefined, not a QueueStore',
    ]);
  });

  it('passes a correct store whose every answer takes several event-loop turns (a network round trip)', async () => {
    const later = async <T>(value: Promise<T>): Promise<T> => {
      const result = await value;
      for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
      return result;
    };
    const slow = (): QueueStore => {
      const inner = memoryStore() as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      const store: Record<string, unknown> = {};
      for (const [name, fn] of Object.entries(inner))
        store[name] = (...args: unknown[]) => later(fn(...args));
      return store as unknown as QueueStore;
    };
    const failed: Record<string, string> = {};
    for (const test of collectKit({ name: 'mutant', createStore: slow })) {
      if (test.name.startsWith('redrive (many)')) continue;
      const error = await runOne(test);
      if (error !== undefined) failed[test.name] = error;
    }
    expect(failed).toEqual({});
  });

  it('refuses a runner or options of the wrong shape with InvalidArgumentError', () => {
    const runner = {
      describe() {},
      it() {},
      expect() {},
      beforeEach() {},
      afterEach() {},
    } as unknown as ConformanceRunner;
    const create = (): QueueStore => memoryStore();
    for (const [r, o] of [
      [
        { ...runner, it: undefined },
        { name: 'x', createStore: create },
      ],
      [runner, { name: 'x', createStore: 'memory' }],
      [runner, { name: 'x', createStore: create, cleanup: 1 }],
      [runner, { name: 'x', createStore: create, callTimeout: 0 }],
    ] as const)
      expect(() => queueConformance(r as ConformanceRunner, o as never)).toThrow(InvalidArgumentError);
  });
});
