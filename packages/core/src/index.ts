/**
 * @integ/core: the small shared contracts every @integ package builds on. No dependencies and no
 * `node:` imports: Node, and checked on Deno, Bun, Chromium and workerd (README).
 */
export {
  abortReason,
  discard,
  isAbortError,
  type LinkedSignal,
  linkSignals,
  throwIfAborted,
} from './abort.js';
export { type Clock, systemClock, type TimerHandle, unrefTimer } from './clock.js';
export { createDeadline, type Deadline, type DeadlineOptions, timeLeft } from './deadline.js';
export {
  IntegError,
  type IntegErrorOptions,
  InvalidArgumentError,
  isIntegError,
  TimeoutError,
} from './errors.js';
export type { LogFn, Logger } from './logger.js';
export { silentLogger } from './logger.js';
export { type SleepOptions, sleep } from './sleep.js';
