/**
 * Records the promise rejections nobody handled, so a test can prove that code leaves none behind (in Node,
 * an unhandled rejection ends the process by default). Node only: it listens to `process`'s
 * `unhandledRejection` event, next to any listener the test runner has. Not under Jest: a Jest test file's `process`
 * is a copy, whose listeners Node never calls (Jest fails the test on the rejection itself).
 */
import { turn } from './internal/turn.js';

/** What {@link trackUnhandledRejections} returns. */
export interface UnhandledRejections {
  /** The reasons of the rejections reported so far, in order. */
  readonly reasons: readonly unknown[];
  /**
   * Waits one macrotask, by which time Node has reported every rejection left unhandled by the code that ran
   * before (it reports them once the microtask queue drains), then returns {@link reasons}.
   */
  settled(): Promise<readonly unknown[]>;
  /** Stops recording; `reasons` stays readable. Calling it again does nothing. */
  stop(): void;
}

/**
 * Starts recording unhandled rejections until `stop()`. Under Jest it records nothing (see the module comment).
 *
 * @example
 * ```ts
 * let unhandled: UnhandledRejections;
 * beforeEach(() => {
 *   unhandled = trackUnhandledRejections();
 * });
 * afterEach(() => unhandled.stop());
 *
 * it('ignores an async onRetry that rejects', async () => {
 *   const clock = createFakeClock();
 *   const done = retry(flakyCall, { clock, onRetry: async () => { throw new Error('log sink down'); } });
 *   await clock.runAll();
 *   await done;
 *   expect(await unhandled.settled()).toEqual([]);
 * });
 * ```
 */
export function trackUnhandledRejections(): UnhandledRejections {
  const reasons: unknown[] = [];
  const record = (reason: unknown): void => {
    reasons.push(reason);
  };
  process.on('unhandledRejection', record);
  return {
    reasons,
    settled: () => turn().then(() => reasons),
    stop: () => {
      process.off('unhandledRejection', record);
    },
  };
}
