/**
 * Active health checks: an HTTP GET of a path or a TCP connect, run per endpoint every `interval`
 * (with jitter so a fleet of clients does not probe in lockstep), with Envoy-style thresholds:
 * `unhealthyThreshold` consecutive failures mark an endpoint unhealthy, `healthyThreshold` consecutive
 * successes bring it back. Also published as `@integ/discovery/health`.
 */
import { discard, InvalidArgumentError } from '@integ/core';
import type { Endpoint } from './endpoint.js';
import { failureText } from './internal/body.js';
import { nodeImport } from './internal/node-import.js';
import { hostPort, redactUrl } from './internal/url.js';

/** A check: resolves `true`/`undefined` when healthy; `false` or a rejection means unhealthy. */
export type HealthCheck = (
  endpoint: Endpoint,
  options: { readonly signal: AbortSignal },
) => Promise<boolean | undefined>;

/** Options of active health checking (the `healthCheck` option of a service or the registry). */
export interface HealthCheckOptions {
  /** What to run: {@link httpCheck}, {@link tcpCheck} or your own function. */
  readonly check: HealthCheck;
  /** Time between checks of one endpoint, in ms. @default 10000 */
  readonly interval?: number;
  /** Give up on one check after this many ms (counts as a failure). @default 2000 */
  readonly timeout?: number;
  /** Random extra delay added to each interval, as a fraction of it (0.1 = up to +10%). @default 0.1 */
  readonly jitter?: number;
  /** Consecutive successes that make an unhealthy endpoint healthy. @default 2 */
  readonly healthyThreshold?: number;
  /** Consecutive failures that make a healthy endpoint unhealthy. @default 3 */
  readonly unhealthyThreshold?: number;
}

/** Options of {@link httpCheck}. */
export interface HttpCheckOptions {
  /** The path requested on the endpoint's URL. @default '/health' */
  readonly path?: string;
  /** Statuses counted as healthy. @default 200-299 */
  readonly expectedStatus?: (status: number) => boolean;
  /** The fetch to use. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Extra request headers (e.g. a Host header). @default none */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * An HTTP health check: `GET <endpoint url><path>`, healthy on a 2xx (by default). The body is discarded.
 * Credentials in the endpoint's URL (`http://user:p%40ss@host`) are sent as `Authorization: Basic`
 * (percent-decoded, UTF-8; a `%` that starts no escape is sent as is) unless `headers` has an `authorization`
 * header of its own.
 *
 * @example
 * ```ts
 * createRegistry({ services, healthCheck: { check: httpCheck({ path: '/healthz' }), interval: 5000 } });
 * ```
 */
export function httpCheck(options: HttpCheckOptions = {}): HealthCheck {
  const path = options.path ?? '/health';
  // '//host' or '/\\host' would resolve against the endpoint's URL as another host.
  if (typeof path !== 'string' || !/^\/(?![/\\])/.test(path))
    throw new InvalidArgumentError('httpCheck path', "a path starting with one '/'", path);
  const expected = options.expectedStatus ?? ((status: number) => status >= 200 && status < 300);
  return async (endpoint, { signal }) => {
    const doFetch = options.fetch ?? globalThis.fetch;
    const url = new URL(path, endpoint.url);
    let headers = options.headers ?? {};
    let secret: string | undefined;
    // Fetch refuses a URL with user:password@ (WHATWG Fetch, "includes credentials"): send them as Basic
    // auth (RFC 7617, UTF-8) as browsers and curl do, unless the caller set an Authorization header.
    if (url.username + url.password) {
      if (!Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')) {
        // The URL parser percent-encodes every non-ASCII character of userinfo (and ':' in a username), so the
        // pair is ASCII; each %XX becomes its byte (UTF-8 when the escapes are), which btoa takes as is. A '%'
        // that starts no escape is sent as written, as curl does: decodeURIComponent threw 'URI malformed' on
        // it, at every check, so the endpoint stayed unhealthy for ever.
        const pair = `${url.username}:${url.password}`.replace(/%([\da-f]{2})/gi, (_, hex: string) =>
          String.fromCharCode(parseInt(hex, 16)),
        );
        secret = btoa(pair);
        headers = { ...headers, authorization: `Basic ${secret}` };
      }
      url.username = url.password = '';
    }
    // A failure quoting the request's headers (a custom fetch's) showed the credentials in inspect(): masked.
    const response = await doFetch(url, { signal, headers, redirect: 'manual' }).catch((error: unknown) => {
      throw secret ? new Error(failureText(error, secret), { cause: error }) : error;
    });
    // Not awaited (a cancel() that does not settle held every check until its timeout): the status is the answer.
    discard(response.body);
    return expected(response.status);
  };
}

/**
 * A TCP health check: healthy when a connection to the endpoint's host and port opens (Node only;
 * `node:net` is loaded on first use).
 *
 * @example
 * ```ts
 * createRegistry({ services: { db: { url: 'tcp://10.0.0.5:5432' } }, healthCheck: { check: tcpCheck() } });
 * ```
 */
export function tcpCheck(): HealthCheck {
  return async (endpoint, { signal }) => {
    const net = await nodeImport<typeof import('node:net')>('node:net');
    // An abort while node:net loaded fires no listener added now: the socket would connect anyway.
    signal.throwIfAborted();
    const { host, port } = hostPort(endpoint.url);
    if (!(port > 0))
      throw new InvalidArgumentError('tcpCheck endpoint', 'a URL with a port', redactUrl(endpoint.url));
    return new Promise<boolean>((resolve, reject) => {
      const socket = net.connect({ host, port });
      const onAbort = (): void => {
        socket.destroy();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => {
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        resolve(true);
      });
      socket.once('error', (err) => {
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        reject(err);
      });
    });
  };
}
