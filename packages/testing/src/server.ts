/**
 * `createTestServer`: msw's `setupServer` with the one default that keeps tests honest, an unhandled
 * request is an error, so nothing leaks to the real network.
 */
import type { RequestHandler } from 'msw';
import { type SetupServer, setupServer } from 'msw/node';

/** The server returned by {@link createTestServer}: msw's API with a safer `listen()`. */
export interface TestServer {
  /** The underlying msw server. */
  readonly msw: SetupServer;
  /** Starts intercepting. Unhandled requests fail the test unless `onUnhandledRequest` says otherwise. */
  listen(options?: Parameters<SetupServer['listen']>[0]): void;
  /** Adds handlers in front of the initial ones (for one test). */
  use(...handlers: RequestHandler[]): void;
  /** Drops handlers added with `use()`; given handlers, they also replace the initial ones (as in msw). */
  resetHandlers(...handlers: RequestHandler[]): void;
  /** Stops intercepting. */
  close(): void;
}

/**
 * Creates an msw server for Node tests with `onUnhandledRequest: 'error'`.
 *
 * @example
 * ```ts
 * const server = createTestServer();
 * beforeAll(() => server.listen());
 * afterEach(() => server.resetHandlers());
 * afterAll(() => server.close());
 * // In a test: resetHandlers() does not reset a scenario's count, so each test creates its own.
 * server.use(http.get('https://api.example.com/users', flaky({ failures: 2 })));
 * ```
 */
export function createTestServer(...handlers: RequestHandler[]): TestServer {
  const msw = setupServer(...handlers);
  return {
    msw,
    // `?? 'error'`, not a spread default: `{ onUnhandledRequest: undefined }` would restore msw's 'warn' and let
    // unhandled requests reach the real network.
    listen: (options) =>
      msw.listen({ ...options, onUnhandledRequest: options?.onUnhandledRequest ?? 'error' }),
    use: (...more) => msw.use(...more),
    resetHandlers: (...next) => msw.resetHandlers(...next),
    close: () => msw.close(),
  };
}
