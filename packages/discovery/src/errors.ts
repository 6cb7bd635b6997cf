/**
 * The typed errors of @integ/discovery. Each has a stable `code`; none ever carries a URL's
 * credentials or a token.
 */
import { IntegError } from '@integ/core';

/**
 * `registry.url()`/`pick()` was asked for a service the registry does not know (`ERR_UNKNOWN_SERVICE`).
 * The message names the first 10 configured names (and how many more), `known` every one, so a typo is obvious;
 * it quotes the name asked for up to 64 characters (then `…`), `service` holds it whole.
 *
 * @example
 * ```ts
 * try { registry.url('auht'); } catch (err) { if (isIntegError(err, 'ERR_UNKNOWN_SERVICE')) console.log(err.message); }
 * ```
 */
export class UnknownServiceError extends IntegError {
  static override readonly name: string = 'UnknownServiceError';
  /** The name that was asked for. */
  readonly service: string;
  /** Every service name the registry knows, sorted. */
  readonly known: readonly string[];

  constructor(service: string, known: readonly string[]) {
    super(
      'ERR_UNKNOWN_SERVICE',
      // The first 10 names only: a registry of 2,000 services made a 19 KB message (and log line). The name asked
      // for is cut too: it may come from a request path, and a 1 MB one made a 1 MB message.
      `Unknown service ${JSON.stringify(service.length > 64 ? `${service.slice(0, 64)}…` : service)}; known services: ${known.length > 10 ? `${known.slice(0, 10).join(', ')}, and ${known.length - 10} more` : known.join(', ') || '(none)'}. Add it to createRegistry({ services })`,
      { retryable: false },
    );
    this.service = service;
    this.known = known;
  }
}

/**
 * A configured URL is not a valid absolute URL (`ERR_INVALID_URL`), thrown by `createRegistry` at startup.
 * `variable` names the environment variable it came from (e.g. `AUTH_SERVICE`), `setting` the config path.
 * The offending value is never echoed: it may hold credentials.
 *
 * @example
 * ```ts
 * // AUTH_SERVICE=not a url
 * createRegistry({ services: { auth: fromEnv('AUTH_SERVICE') } }); // throws InvalidUrlError naming AUTH_SERVICE
 * ```
 */
export class InvalidUrlError extends IntegError {
  static override readonly name: string = 'InvalidUrlError';
  /** The environment variable the URL came from, when it came from one. */
  readonly variable: string | undefined;
  /** Where the URL was configured, e.g. `env AUTH_SERVICE` or `services.auth.urls[1]`. */
  readonly setting: string;

  constructor(setting: string, reason: string, variable?: string) {
    super(
      'ERR_INVALID_URL',
      `Invalid URL in ${setting}: ${reason}. Expected an absolute URL such as http://host:8001${variable === undefined ? '' : ` (or a comma-separated list of them) in ${variable}`}`,
      { retryable: false },
    );
    this.variable = variable;
    this.setting = setting;
  }
}

/** Why a service had no endpoint to give. */
export type NoEndpointsReason = 'pending' | 'empty' | 'unhealthy';

/**
 * A known service has no endpoint to pick (`ERR_NO_ENDPOINTS`): its source has not answered yet
 * (`reason: 'pending'`, await `registry.ready()`; the message says when its first lookup failed instead, or the
 * registry was closed: then `ready()` rejects), answered with nothing (`'empty'`), or every endpoint
 * is unhealthy with the panic threshold at 0 (`'unhealthy'`). Retryable.
 *
 * @example
 * ```ts
 * await registry.ready('api'); // avoids reason 'pending'
 * ```
 */
export class NoEndpointsError extends IntegError {
  static override readonly name: string = 'NoEndpointsError';
  /** The service asked for. */
  readonly service: string;
  /** Why nothing could be picked. */
  readonly reason: NoEndpointsReason;

  constructor(service: string, reason: NoEndpointsReason, detail = '', options: { cause?: unknown } = {}) {
    // `detail` says what happened instead, where awaiting ready() would not help (it rejects): the first lookup
    // failed, or the registry was closed.
    const what =
      detail ||
      (reason === 'pending'
        ? 'its source has not answered yet; await registry.ready() first'
        : reason === 'empty'
          ? 'its source returned no endpoints'
          : 'every endpoint is unhealthy or ejected and the panic threshold is 0');
    super('ERR_NO_ENDPOINTS', `No endpoint for service ${JSON.stringify(service)}: ${what}`, {
      retryable: true,
      cause: options.cause,
    });
    this.service = service;
    this.reason = reason;
  }
}

/**
 * A discovery source (DNS, Consul, etcd, ...) failed to answer (`ERR_DISCOVERY_SOURCE`). The registry
 * keeps serving the last good endpoints and retries; `inspect()` shows this error. Retryable.
 *
 * @example
 * ```ts
 * await registry.ready('api').catch((err) => { if (isIntegError(err, 'ERR_DISCOVERY_SOURCE')) log(err.message); });
 * ```
 */
export class DiscoverySourceError extends IntegError {
  static override readonly name: string = 'DiscoverySourceError';
  /** The kind of source that failed: `dns-srv`, `consul`, ... */
  readonly source: string;

  constructor(source: string, message: string, options: { cause?: unknown } = {}) {
    super('ERR_DISCOVERY_SOURCE', `${source}: ${message}`, { retryable: true, cause: options.cause });
    this.source = source;
  }
}
