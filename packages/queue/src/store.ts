/**
 * The storage contract behind every queue. A store keeps job records and performs each state
 * transition atomically; all scheduling policy (backoff, attempts, hooks, leases kept alive) lives in
 * the queue, so a store is a thin, testable mapping onto one backend.
 *
 * The operations are chosen to map onto one statement (or one short transaction) per backend:
 *
 * | operation | SQL (Postgres)                                                       | Redis                        |
 * |-----------|----------------------------------------------------------------------|------------------------------|
 * | enqueue   | `INSERT ... ON CONFLICT (queue, key) WHERE active DO NOTHING RETURNING` | Lua: HSET + ZADD, key SETNX  |
 * | claim     | `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING` | Lua: ZPOPMIN + HINCRBY token |
 * | ack/fail  | `UPDATE ... WHERE id = $1 AND token = $2 AND status = 'processing'`   | Lua: compare token, then set |
 * | extend    | same condition, sets `lease_until`                                     | Lua: compare token, ZADD     |
 *
 * Rules every store follows (the conformance kit in `@integ/queue/testing` checks them):
 *
 * - Time comes from the caller (`now`, ms since the epoch, from the queue's clock), never from the
 *   backend, so every store behaves the same on a fake clock. The queue passes whole ms only.
 * - `claim` is atomic: a job is handed to at most one caller per claim, and every claim increments the
 *   job's fencing `token`. A job whose lease expired (`status = 'processing'` and `leaseUntil <= now`)
 *   is claimable again, as if pending, while `attempts < maxAttempts`.
 * - `ack`, `fail`, `extend` and `release` apply only when the job is `processing` and its token equals
 *   the one given; otherwise they change nothing and return `false` (the queue turns that into a
 *   `LeaseLostError`). A holder whose lease expired but whose job nobody re-claimed may still settle it.
 * - A `key` is unique among active (pending or processing) jobs of a queue: `enqueue` of a job whose key
 *   is taken returns the existing job with `created: false`.
 * - Claim order: higher `priority` first, then earlier `runAt`, then insertion order; a job whose lease
 *   expired is ordered among the due pending jobs by the same rule (it does not go first).
 * - `enqueue`, `claim` and `redrive` are all or nothing, however many jobs they touch: no other call sees
 *   part of one, and one that rejects changes nothing (the kit checks the first half; a store's own tests
 *   must check the second by failing a statement midway, as sqlite-batch.test.ts does).
 * - Every call settles: it resolves or rejects in bounded time. A backend that can hang (a network connection that
 *   went silent) bounds its own calls (a statement or command timeout) and rejects. The queue waits for each answer:
 *   `close()` resolves once the store answered its releases, however long after its `timeout` that is, since a
 *   process may exit right after it; a holder's call made during such a release waits for it (decision 0206).
 */

/** The life cycle of a job. */
export type JobStatus = 'pending' | 'processing' | 'done' | 'dead';

/** Every status, in life-cycle order. */
export const JOB_STATUSES: readonly JobStatus[] = ['pending', 'processing', 'done', 'dead'];

/** A job to insert. `payload` is already-validated JSON text. */
export interface NewJobRecord {
  /** JSON text of the payload. */
  readonly payload: string;
  /** Higher runs first. */
  readonly priority: number;
  /** Deduplication key, or `null`. */
  readonly key: string | null;
  /** Attempts allowed in total (first run included), >= 1. */
  readonly maxAttempts: number;
  /** JSON text of the job's backoff spec, or `null` for the queue's default. */
  readonly backoff: string | null;
  /** Not claimable before this time (ms since the epoch). */
  readonly runAt: number;
}

/** A job as a store keeps it. */
export interface JobRecord extends NewJobRecord {
  /** Store-assigned id, unique within the store. */
  readonly id: string;
  /** The queue (name) the job belongs to. */
  readonly queue: string;
  readonly status: JobStatus;
  /** How many times the job was claimed (attempts started), not counting released ones. */
  readonly attempts: number;
  /** When the job was created (ms since the epoch). */
  readonly createdAt: number;
  /** Fencing token of the latest claim; 0 before the first claim. */
  readonly token: number;
  /** While `processing`: when the lease expires (ms since the epoch); otherwise `null`. */
  readonly leaseUntil: number | null;
  /** The last failure's message (kept after success and redrive for inspection), or `null`. */
  readonly lastError: string | null;
  /** When the job became `done` or `dead`, or `null`. */
  readonly finishedAt: number | null;
}

/** The result of inserting one job. */
export interface EnqueueResult {
  /** The inserted job, or the active job that already holds the key. */
  readonly job: JobRecord;
  /** `false` when the key was taken and nothing was inserted. */
  readonly created: boolean;
}

/** A claimed job. */
export interface ClaimedRecord extends JobRecord {
  /** Whether the job was taken over from a holder whose lease expired (a stalled job). */
  readonly stalled: boolean;
}

/** Arguments of {@link QueueStore.claim}. */
export interface ClaimOptions {
  readonly now: number;
  /** Lease length in ms: the claim sets `leaseUntil = now + leaseMs`. */
  readonly leaseMs: number;
  /** At most this many jobs, >= 1. */
  readonly limit: number;
}

/** How a failed attempt ends: back to pending at `runAt`, or dead. */
export type FailOutcome =
  | { readonly status: 'pending'; readonly runAt: number }
  | { readonly status: 'dead' };

/** Counts by status plus the age of the oldest pending job. */
export interface StoreStats {
  readonly pending: number;
  readonly processing: number;
  readonly done: number;
  readonly dead: number;
  /** Pending jobs whose `runAt` is still in the future (a subset of `pending`). */
  readonly delayed: number;
  /** `createdAt` of the oldest pending job that is ready to run, or `null` when there is none. */
  readonly oldestPendingCreatedAt: number | null;
}

/** Arguments of {@link QueueStore.list}. */
export interface ListOptions {
  readonly status?: JobStatus | undefined;
  /** @default 100 */
  readonly limit?: number | undefined;
  /** Skip this many (insertion order). @default 0 */
  readonly offset?: number | undefined;
}

/** Arguments of {@link QueueStore.redrive}. */
export interface RedriveOptions {
  readonly now: number;
  /** Only these dead jobs; all dead jobs of the queue when absent. */
  readonly ids?: readonly string[] | undefined;
  /** At most this many. */
  readonly limit?: number | undefined;
}

/** Arguments of {@link QueueStore.clean}. */
export interface CleanOptions {
  readonly status: 'done' | 'dead';
  /** Remove jobs finished before this time (ms since the epoch). */
  readonly finishedBefore: number;
  /** At most this many. */
  readonly limit?: number | undefined;
}

/**
 * The storage contract of a queue. Implement it to add a backend; run `queueConformance` from
 * `@integ/queue/testing` against it to prove it.
 *
 * @example
 * ```ts
 * const queue = createQueue({ name: 'emails', store: memoryStore() });
 * ```
 */
export interface QueueStore {
  /** Inserts jobs atomically (all or none), in order; see the module notes on keys. */
  enqueue(queue: string, jobs: readonly NewJobRecord[], now: number): Promise<EnqueueResult[]>;
  /** Atomically leases up to `limit` claimable jobs (see the module notes on order and expiry). */
  claim(queue: string, options: ClaimOptions): Promise<ClaimedRecord[]>;
  /** `processing` + token match -> `done`. Returns whether it applied. */
  ack(id: string, token: number, now: number): Promise<boolean>;
  /** `processing` + token match -> the outcome, recording `error`. Returns whether it applied. */
  fail(id: string, token: number, now: number, error: string, outcome: FailOutcome): Promise<boolean>;
  /** `processing` + token match -> `leaseUntil` set. Returns whether it applied. */
  extend(id: string, token: number, leaseUntil: number): Promise<boolean>;
  /**
   * `processing` + token match -> `pending` at `now` with the attempt given back (attempts - 1): the
   * run was interrupted, not failed. Returns whether it applied.
   */
  release(id: string, token: number, now: number): Promise<boolean>;
  /**
   * Moves jobs whose lease expired with no attempt left (`attempts >= maxAttempts`) to `dead` with
   * `error`, and returns them.
   */
  reap(queue: string, now: number, error: string): Promise<JobRecord[]>;
  /**
   * Dead -> pending (attempts reset to 0, runAt = now), in insertion order. Skips a job whose key an active
   * job holds; a skipped job does not count towards `limit`.
   */
  redrive(queue: string, options: RedriveOptions): Promise<number>;
  /** One job, or `null`. */
  get(id: string): Promise<JobRecord | null>;
  /** Jobs of a queue in insertion order. */
  list(queue: string, options: ListOptions): Promise<JobRecord[]>;
  /** Counts by status at `now`. */
  stats(queue: string, now: number): Promise<StoreStats>;
  /** Deletes finished jobs; returns how many. */
  clean(queue: string, options: CleanOptions): Promise<number>;
  /** Releases the backend (connections, file handles). Idempotent. */
  close(): Promise<void>;
}
