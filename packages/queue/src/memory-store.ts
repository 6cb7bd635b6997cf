/**
 * The in-memory store: ephemeral, for tests and for work that may be lost with the process. It follows
 * the same contract as the durable stores (and passes the same conformance kit).
 */
import { StoreUnavailableError } from './errors.js';
import { Heap } from './internal/heap.js';
import type {
  ClaimedRecord,
  ClaimOptions,
  CleanOptions,
  EnqueueResult,
  FailOutcome,
  JobRecord,
  JobStatus,
  ListOptions,
  NewJobRecord,
  QueueStore,
  RedriveOptions,
  StoreStats,
} from './store.js';

type Mutable = { -readonly [K in keyof JobRecord]: JobRecord[K] };

type Row = Mutable & { readonly seq: number };

interface QueueState {
  readonly jobs: Map<string, Row>;
  readonly ready: Heap<Row>;
  readonly delayed: Heap<Row>;
  readonly processing: Set<Row>;
  readonly keys: Map<string, Row>;
}

const readyOrder = (a: Row, b: Row): boolean =>
  a.priority !== b.priority
    ? a.priority > b.priority
    : a.runAt !== b.runAt
      ? a.runAt < b.runAt
      : a.seq < b.seq;
const delayedOrder = (a: Row, b: Row): boolean => (a.runAt !== b.runAt ? a.runAt < b.runAt : a.seq < b.seq);

function snapshot(row: Row): JobRecord {
  return {
    id: row.id,
    queue: row.queue,
    payload: row.payload,
    status: row.status,
    priority: row.priority,
    key: row.key,
    attempts: row.attempts,
    maxAttempts: row.maxAttempts,
    backoff: row.backoff,
    runAt: row.runAt,
    createdAt: row.createdAt,
    token: row.token,
    leaseUntil: row.leaseUntil,
    lastError: row.lastError,
    finishedAt: row.finishedAt,
  };
}

/** The in-memory {@link QueueStore} returned by {@link memoryStore}. */
export interface MemoryStore extends QueueStore {}

/**
 * Creates an in-memory store. Jobs live as long as the store object; nothing is persisted.
 *
 * @example
 * ```ts
 * const queue = createQueue({ name: 'emails', store: memoryStore() });
 * ```
 */
export function memoryStore(): MemoryStore {
  let closed = false;
  const queues = new Map<string, QueueState>();
  const byId = new Map<string, Row>();
  let seq = 0;

  const state = (queue: string): QueueState => {
    let s = queues.get(queue);
    if (s === undefined) {
      s = {
        jobs: new Map(),
        ready: new Heap(readyOrder),
        delayed: new Heap(delayedOrder),
        processing: new Set(),
        keys: new Map(),
      };
      queues.set(queue, s);
    }
    return s;
  };

  const toPending = (s: QueueState, row: Row, now: number): void => {
    row.status = 'pending';
    row.leaseUntil = null;
    s.processing.delete(row);
    if (row.runAt <= now) s.ready.push(row);
    else s.delayed.push(row);
  };

  const finish = (s: QueueState, row: Row, status: 'done' | 'dead', now: number): void => {
    row.status = status;
    row.leaseUntil = null;
    row.finishedAt = now;
    s.processing.delete(row);
    if (row.key !== null && s.keys.get(row.key) === row) s.keys.delete(row.key);
  };

  const held = (id: string, token: number): Row | undefined => {
    const row = byId.get(id);
    return row !== undefined && row.status === 'processing' && row.token === token ? row : undefined;
  };

  const lease = (row: Row, now: number, leaseMs: number, stalled: boolean): ClaimedRecord => {
    row.status = 'processing';
    row.attempts += 1;
    row.token += 1;
    row.leaseUntil = now + leaseMs;
    return { ...snapshot(row), stalled };
  };

  const store: MemoryStore = {
    async enqueue(queue: string, jobs: readonly NewJobRecord[], now: number): Promise<EnqueueResult[]> {
      const s = state(queue);
      const results: EnqueueResult[] = [];
      for (const job of jobs) {
        if (job.key !== null) {
          const existing = s.keys.get(job.key);
          if (existing !== undefined) {
            results.push({ job: snapshot(existing), created: false });
            continue;
          }
        }
        seq += 1;
        const row: Row = {
          seq,
          id: String(seq),
          queue,
          payload: job.payload,
          status: 'pending',
          priority: job.priority,
          key: job.key,
          attempts: 0,
          maxAttempts: job.maxAttempts,
          backoff: job.backoff,
          runAt: job.runAt,
          createdAt: now,
          token: 0,
          leaseUntil: null,
          lastError: null,
          finishedAt: null,
        };
        s.jobs.set(row.id, row);
        byId.set(row.id, row);
        if (row.key !== null) s.keys.set(row.key, row);
        toPending(s, row, now);
        results.push({ job: snapshot(row), created: true });
      }
      return results;
    },

    async claim(queue: string, { now, leaseMs, limit }: ClaimOptions): Promise<ClaimedRecord[]> {
      const s = state(queue);
      const claimed: ClaimedRecord[] = [];
      // Expired leases compete with due jobs in the one claim order (priority, runAt, push order).
      const expired =
        s.processing.size > 0
          ? [...s.processing]
              .filter((row) => (row.leaseUntil ?? 0) <= now && row.attempts < row.maxAttempts)
              .sort((a, b) => (readyOrder(a, b) ? -1 : 1))
          : [];
      for (let top = s.delayed.peek(); top !== undefined && top.runAt <= now; top = s.delayed.peek()) {
        s.delayed.pop();
        if (top.status === 'pending') s.ready.push(top);
      }
      for (let e = 0; claimed.length < limit; ) {
        const row = s.ready.peek();
        // Not due (any more): the wall clock stepped back since it fell due. It waits, as in every store.
        if (row !== undefined && (row.status !== 'pending' || row.runAt > now)) {
          s.ready.pop();
          if (row.runAt > now) s.delayed.push(row);
          continue;
        }
        const stale = expired[e];
        if (stale !== undefined && (row === undefined || readyOrder(stale, row))) {
          e++;
          claimed.push(lease(stale, now, leaseMs, true));
          continue;
        }
        if (row === undefined) break;
        s.ready.pop();
        s.processing.add(row);
        claimed.push(lease(row, now, leaseMs, false));
      }
      return claimed;
    },

    async ack(id: string, token: number, now: number): Promise<boolean> {
      const row = held(id, token);
      if (row === undefined) return false;
      finish(state(row.queue), row, 'done', now);
      return true;
    },

    async fail(
      id: string,
      token: number,
      now: number,
      error: string,
      outcome: FailOutcome,
    ): Promise<boolean> {
      const row = held(id, token);
      if (row === undefined) return false;
      row.lastError = error;
      const s = state(row.queue);
      if (outcome.status === 'dead') finish(s, row, 'dead', now);
      else {
        row.runAt = outcome.runAt;
        toPending(s, row, now);
      }
      return true;
    },

    async extend(id: string, token: number, leaseUntil: number): Promise<boolean> {
      const row = held(id, token);
      if (row === undefined) return false;
      row.leaseUntil = leaseUntil;
      return true;
    },

    async release(id: string, token: number, now: number): Promise<boolean> {
      const row = held(id, token);
      if (row === undefined) return false;
      row.attempts = Math.max(0, row.attempts - 1);
      row.runAt = now;
      toPending(state(row.queue), row, now);
      return true;
    },

    async reap(queue: string, now: number, error: string): Promise<JobRecord[]> {
      const s = state(queue);
      const dead: JobRecord[] = [];
      for (const row of [...s.processing]) {
        if ((row.leaseUntil ?? 0) <= now && row.attempts >= row.maxAttempts) {
          row.lastError = error;
          finish(s, row, 'dead', now);
          dead.push(snapshot(row));
        }
      }
      return dead;
    },

    async redrive(queue: string, { now, ids, limit }: RedriveOptions): Promise<number> {
      const s = state(queue);
      const wanted = ids === undefined ? undefined : new Set(ids);
      let count = 0;
      for (const row of s.jobs.values()) {
        if (limit !== undefined && count >= limit) break;
        if (row.status !== 'dead' || (wanted !== undefined && !wanted.has(row.id))) continue;
        if (row.key !== null) {
          if (s.keys.has(row.key)) continue;
          s.keys.set(row.key, row);
        }
        row.attempts = 0;
        row.runAt = now;
        row.finishedAt = null;
        toPending(s, row, now);
        count += 1;
      }
      return count;
    },

    async get(id: string): Promise<JobRecord | null> {
      const row = byId.get(id);
      return row === undefined ? null : snapshot(row);
    },

    async list(queue: string, { status, limit = 100, offset = 0 }: ListOptions): Promise<JobRecord[]> {
      const out: JobRecord[] = [];
      let skipped = 0;
      for (const row of state(queue).jobs.values()) {
        if (out.length >= limit) break;
        if (status !== undefined && row.status !== status) continue;
        if (skipped < offset) {
          skipped += 1;
          continue;
        }
        out.push(snapshot(row));
      }
      return out;
    },

    async stats(queue: string, now: number): Promise<StoreStats> {
      const counts: Record<JobStatus, number> = { pending: 0, processing: 0, done: 0, dead: 0 };
      let delayed = 0;
      let oldest: number | null = null;
      for (const row of state(queue).jobs.values()) {
        counts[row.status] += 1;
        if (row.status !== 'pending') continue;
        if (row.runAt > now) delayed += 1;
        else if (oldest === null || row.createdAt < oldest) oldest = row.createdAt;
      }
      return { ...counts, delayed, oldestPendingCreatedAt: oldest };
    },

    async clean(queue: string, { status, finishedBefore, limit }: CleanOptions): Promise<number> {
      const s = state(queue);
      let count = 0;
      for (const row of [...s.jobs.values()]) {
        if (limit !== undefined && count >= limit) break;
        if (row.status !== status || (row.finishedAt ?? 0) >= finishedBefore) continue;
        s.jobs.delete(row.id);
        byId.delete(row.id);
        count += 1;
      }
      return count;
    },

    async close(): Promise<void> {
      closed = true;
      queues.clear();
      byId.clear();
    },
  };
  // Like every store, a closed one refuses work (its jobs are gone with it) instead of serving an empty queue.
  for (const [name, method] of Object.entries(store) as [keyof MemoryStore, (...args: never[]) => unknown][])
    if (name !== 'close')
      (store as unknown as Record<string, unknown>)[name] = (...args: never[]) =>
        closed
          ? Promise.reject(new StoreUnavailableError('The memory queue store is closed: create a new one'))
          : method(...args);
  return store;
}
