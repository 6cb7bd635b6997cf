/**
 * Review round 29: the public types of `@integ/queue`, `/sqlite` and `/testing` as a user meets them, under the house
 * tsconfig (strict, exactOptionalPropertyTypes). Checked by `npx tsc -p tsconfig.json --noEmit` in the package; the
 * runtime part only makes sure the calls typed here are accepted by the code too.
 */
import {
  type CleanJobsOptions,
  type CloseOptions,
  createQueue,
  type FailOptions,
  type Handler,
  type HandlerContext,
  JOB_STATUSES,
  type Job,
  type JobStatus,
  type LeasedJob,
  type ListJobsOptions,
  memoryStore,
  type NextOptions,
  type ProcessOptions,
  type PushOptions,
  type Queue,
  type QueueOptions,
  type QueueStats,
  type QueueStore,
  type RedriveJobsOptions,
  type Worker,
} from '@integ/queue';
import {
  type SqliteDriver,
  type SqliteStore,
  type SqliteStoreOptions,
  sqliteStore,
} from '@integ/queue/sqlite';
import { type ConformanceOptions, queueConformance } from '@integ/queue/testing';
import { describe, expect, expectTypeOf, it } from 'vitest';

type Email = { to: string; template: string };

describe('the payload type', () => {
  it('flows from createQueue<T> to push, pushMany, next, get, list, hooks and the handler', async () => {
    const queue = createQueue<Email>({ name: 'emails', store: memoryStore() });
    expectTypeOf(queue).toEqualTypeOf<Queue<Email>>();
    expectTypeOf(queue.push).parameter(0).toEqualTypeOf<Email>();
    expectTypeOf(queue.pushMany).parameter(0).toEqualTypeOf<readonly Email[]>();
    expectTypeOf(queue.push).returns.resolves.toEqualTypeOf<Job<Email>>();
    expectTypeOf(queue.next).returns.resolves.toEqualTypeOf<LeasedJob<Email> | null>();
    expectTypeOf(queue.get).returns.resolves.toEqualTypeOf<Job<Email> | null>();
    expectTypeOf(queue.list).returns.resolves.toEqualTypeOf<Job<Email>[]>();
    expectTypeOf(queue.process).parameter(0).toEqualTypeOf<Handler<Email>>();
    expectTypeOf<Parameters<Handler<Email>>[0]>().toEqualTypeOf<LeasedJob<Email> & HandlerContext>();
    expectTypeOf<Parameters<Handler<Email>>[0]['payload']>().toEqualTypeOf<Email>();
    // @ts-expect-error: a payload of another shape is refused
    void queue.push({ to: 'a@example.com' }).catch(() => {});
    const worker = queue.process(async (job, { signal }) => {
      expectTypeOf(job.payload).toEqualTypeOf<Email>();
      expectTypeOf(signal).toEqualTypeOf<AbortSignal>();
      expectTypeOf(job.signal).toEqualTypeOf<AbortSignal>();
    });
    expectTypeOf(worker).toEqualTypeOf<Worker>();
    await worker.close();
    await queue.close();
  });

  it('is inferred from a hook, and is unknown (never any) when nothing gives it', async () => {
    const typed = createQueue({
      name: 'emails',
      store: memoryStore(),
      onCompleted: (job: Job<Email>) => void job.payload.to,
    });
    expectTypeOf(typed).toEqualTypeOf<Queue<Email>>();
    const untyped = createQueue({ name: 'anything', store: memoryStore() });
    expectTypeOf(untyped).toEqualTypeOf<Queue<unknown>>();
    expectTypeOf<Job['payload']>().toBeUnknown();
    const options: QueueOptions<Email> = {
      name: 'emails',
      store: memoryStore(),
      onFailed: (job, error) => {
        expectTypeOf(job.payload).toEqualTypeOf<Email>();
        expectTypeOf(error).toBeUnknown();
      },
      onDead: (job) => expectTypeOf(job).toEqualTypeOf<Job<Email>>(),
      onStalled: (job) => expectTypeOf(job).toEqualTypeOf<Job<Email>>(),
    };
    expectTypeOf(createQueue(options)).toEqualTypeOf<Queue<Email>>();
    await typed.close();
    await untyped.close();
  });
});

describe('job status and stats', () => {
  it('status is the literal union, JOB_STATUSES lists it, and stats has a number per count', async () => {
    expectTypeOf<JobStatus>().toEqualTypeOf<'pending' | 'processing' | 'done' | 'dead'>();
    expectTypeOf<Job['status']>().toEqualTypeOf<JobStatus>();
    expectTypeOf<LeasedJob['status']>().toEqualTypeOf<JobStatus>();
    expectTypeOf(JOB_STATUSES).toEqualTypeOf<readonly JobStatus[]>();
    expectTypeOf<QueueStats>().toEqualTypeOf<{
      readonly pending: number;
      readonly processing: number;
      readonly done: number;
      readonly dead: number;
      readonly delayed: number;
      readonly total: number;
      readonly oldestPendingAgeMs: number;
    }>();
    const queue = createQueue<number>({ name: 'q', store: memoryStore() });
    expectTypeOf(queue.stats).returns.resolves.toEqualTypeOf<QueueStats>();
    expect(await queue.stats()).toEqual({
      pending: 0,
      processing: 0,
      done: 0,
      dead: 0,
      delayed: 0,
      total: 0,
      oldestPendingAgeMs: 0,
    });
    await queue.close();
  });
});

describe('option types', () => {
  it('are exported for every call that takes options, and take undefined for what they leave out', async () => {
    expectTypeOf<Parameters<Queue['push']>[1]>().toEqualTypeOf<PushOptions | undefined>();
    expectTypeOf<Parameters<Queue['next']>[0]>().toEqualTypeOf<NextOptions | undefined>();
    expectTypeOf<Parameters<Queue['process']>[1]>().toEqualTypeOf<ProcessOptions | undefined>();
    expectTypeOf<Parameters<Queue['list']>[0]>().toEqualTypeOf<ListJobsOptions | undefined>();
    expectTypeOf<Parameters<Queue['redrive']>[0]>().toEqualTypeOf<RedriveJobsOptions | undefined>();
    expectTypeOf<Parameters<Queue['clean']>[0]>().toEqualTypeOf<CleanJobsOptions>();
    expectTypeOf<Parameters<Queue['close']>[0]>().toEqualTypeOf<CloseOptions | undefined>();
    expectTypeOf<Parameters<Worker['close']>[0]>().toEqualTypeOf<CloseOptions | undefined>();
    expectTypeOf<Parameters<LeasedJob['fail']>[1]>().toEqualTypeOf<FailOptions | undefined>();
    // Values read from config, where a field may be missing: exactOptionalPropertyTypes refuses `undefined` for a
    // property typed `?: number` alone.
    const maybe = <V>(value: V): V | undefined => value;
    const push: PushOptions = {
      delay: maybe(1),
      priority: maybe(1),
      key: maybe('k'),
      attempts: maybe(1),
      backoff: maybe(1000),
    };
    const next: NextOptions = { leaseMs: maybe(1000) };
    const process: ProcessOptions = {
      concurrency: maybe(1),
      leaseMs: maybe(1000),
      timeout: maybe(1000),
      pollInterval: maybe(1000),
      closeTimeout: maybe(0),
      signal: maybe(new AbortController().signal),
      onError: maybe(() => {}),
    };
    const list: ListJobsOptions = { status: maybe('dead'), limit: maybe(10), offset: maybe(0) };
    const redrive: RedriveJobsOptions = { ids: maybe(['1']), limit: maybe(10) };
    const fail: FailOptions = { retry: maybe(true), delay: maybe(0) };
    const close: CloseOptions = { timeout: maybe(0) };
    const clean: CleanJobsOptions = { status: 'done', olderThan: 0 };
    const store: QueueStore = memoryStore();
    const options: QueueOptions<number> = {
      name: 'q',
      store,
      clock: undefined,
      random: maybe(Math.random),
      attempts: maybe(3),
      backoff: maybe({ type: 'exponential', delay: 1000 }),
      leaseMs: maybe(1000),
      maxRetryAfter: maybe(1000),
      maxPayloadBytes: maybe(1024),
      logger: undefined,
      onCompleted: undefined,
      onFailed: undefined,
      onDead: undefined,
      onStalled: undefined,
    };
    const queue = createQueue(options);
    await queue.push(1, push);
    const job = await queue.next(next);
    await job?.fail(new Error('x'), fail);
    await queue.list(list);
    await queue.redrive(redrive);
    await queue.clean(clean);
    const worker = queue.process(() => {}, process);
    await worker.close(close);
    await queue.close(close);
  });

  it('of @integ/queue/sqlite and /testing too', async () => {
    const maybe = <V>(value: V): V | undefined => value;
    const options: SqliteStoreOptions = {
      path: ':memory:',
      durability: maybe('full'),
      busyTimeout: maybe(100),
      driver: maybe<SqliteDriver>('auto'),
      table: maybe('jobs'),
    };
    const store = sqliteStore(options);
    expectTypeOf(store).toEqualTypeOf<SqliteStore>();
    expectTypeOf(store).toMatchTypeOf<QueueStore>();
    expectTypeOf(store.driver).toEqualTypeOf<SqliteDriver | undefined>();
    await store.close();
    const kit: ConformanceOptions = {
      name: 'mine',
      createStore: () => memoryStore(),
      cleanup: maybe(() => {}),
      callTimeout: maybe(2000),
    };
    expectTypeOf(queueConformance).parameter(1).toEqualTypeOf<ConformanceOptions>();
    expect(kit.name).toBe('mine');
  });
});
