/**
 * @integ/testing: what @integ's own tests use, published so you can test your integrations the same way.
 */
export { type TrackedAbortController, trackedAbortController } from './abort.js';
export { createFakeClock, type FakeClock, type FakeClockOptions } from './fake-clock.js';
export { seededRandom } from './random.js';
export {
  type FlakyOptions,
  flaky,
  type RateLimitedOptions,
  type Reply,
  type RetryAfterOptions,
  rateLimited,
  retryAfter,
  type ScenarioResolver,
  type SequenceOptions,
  type SlowOptions,
  sequence,
  slow,
} from './scenarios.js';
export { createTestServer, type TestServer } from './server.js';
export { drain, settledValue } from './settle.js';
export { encodeSseEvent, type SseEventInit, type SseStreamOptions, sseStream } from './sse.js';
export { trackUnhandledRejections, type UnhandledRejections } from './unhandled.js';
