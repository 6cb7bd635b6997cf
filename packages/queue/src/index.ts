/**
 * @integ/queue: a durable job queue with leases, fencing tokens, retries with backoff, dead letters,
 * delays, priorities and deduplication keys. Delivery is at-least-once. Stores: `memoryStore()` here,
 * `sqliteStore()` from `@integ/queue/sqlite`; the conformance kit is `@integ/queue/testing`.
 */
export type { Clock, TimerHandle } from '@integ/core';
export { type BackoffSpec, DEFAULT_BACKOFF, toBackoff } from './backoff.js';
export {
  JobSettledError,
  LeaseLostError,
  PayloadError,
  PayloadTooLargeError,
  QueueClosedError,
  StoreCorruptError,
  StoreLockedError,
  StoreUnavailableError,
} from './errors.js';
export type { FailOptions, Handler, HandlerContext, Job, LeasedJob } from './job.js';
export { type MemoryStore, memoryStore } from './memory-store.js';
export {
  type CleanJobsOptions,
  type CloseOptions,
  createQueue,
  DEFAULT_ATTEMPTS,
  DEFAULT_LEASE_MS,
  type ListJobsOptions,
  type NextOptions,
  type PushOptions,
  type Queue,
  type QueueHooks,
  type QueueOptions,
  type QueueStats,
  type RedriveJobsOptions,
} from './queue.js';
export {
  type ClaimedRecord,
  type ClaimOptions,
  type CleanOptions,
  type EnqueueResult,
  type FailOutcome,
  JOB_STATUSES,
  type JobRecord,
  type JobStatus,
  type ListOptions,
  type NewJobRecord,
  type QueueStore,
  type RedriveOptions,
  type StoreStats,
} from './store.js';
export type { ProcessOptions, Worker } from './worker.js';
