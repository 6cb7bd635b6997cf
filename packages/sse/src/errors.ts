/**
 * Errors of the SSE client. A response the standard says to "fail the connection" on (status other than
 * 200, Content-Type other than text/event-stream) ends the client for good; network failures are
 * reported and retried.
 */
import { IntegError } from '@integ/core';

/** Which rule a response broke. */
export type SseHttpErrorCode = 'ERR_SSE_STATUS' | 'ERR_SSE_CONTENT_TYPE';

/**
 * The server answered with a status other than 200 (`ERR_SSE_STATUS`, 204 included: that is how a server
 * tells a client to stop) or a Content-Type other than `text/event-stream` (`ERR_SSE_CONTENT_TYPE`).
 * Not retryable: the client closes and does not reconnect.
 *
 * @example
 * ```ts
 * try { for await (const event of connect(url)) handle(event); }
 * catch (error) { if (isIntegError(error, 'ERR_SSE_STATUS')) console.log((error as SseHttpError).status); }
 * ```
 */
export class SseHttpError extends IntegError {
  static override readonly name: string = 'SseHttpError';
  // `declare`d and assigned in the constructor, as in @integ/core: no class-field definitions emitted.
  declare readonly code: SseHttpErrorCode;
  /** The response status. */
  declare readonly status: number;
  /** The response Content-Type, or `null` when there was none. */
  declare readonly contentType: string | null;
  /** The URL that answered (after a redirect, the one it led to), without its query string. */
  declare readonly url: string;

  constructor(code: SseHttpErrorCode, status: number, contentType: string | null, url: string) {
    super(
      code,
      `${url} answered ${code === 'ERR_SSE_STATUS' ? status : contentType} instead of ${code === 'ERR_SSE_STATUS' ? 200 : 'text/event-stream'}: not reconnecting`,
      { retryable: false },
    );
    this.code = code;
    this.status = status;
    this.contentType = contentType;
    this.url = url;
  }
}

/**
 * A connection attempt or an open stream failed at the network level (`ERR_SSE_CONNECTION`): the cause
 * is the fetch or read error. The client reconnects after it.
 *
 * @example
 * ```ts
 * connect(url, { onError: (error) => { if (isIntegError(error, 'ERR_SSE_CONNECTION')) metrics.drop(); } });
 * ```
 */
export class SseConnectionError extends IntegError {
  static override readonly name: string = 'SseConnectionError';
  constructor(url: string, cause: unknown) {
    super('ERR_SSE_CONNECTION', `The event stream at ${url} failed; reconnecting`, {
      cause,
      retryable: true,
    });
  }
}
