/**
 * A Consul source: the health API (`/v1/health/service/<name>?passing`) with blocking queries done by
 * the book (https://developer.hashicorp.com/consul/api-docs/features/blocking): the first request and
 * any request after a reset carry no index; an `X-Consul-Index` lower than the last one resets the index
 * to 0; an index below 1 is clamped to 1 so a query never spins on `index=0`; the loop is rate-limited
 * by the registry's `minInterval`. Uses `fetch` only.
 */
import { InvalidArgumentError, linkSignals } from '@integ/core';
import type { EndpointInit } from './endpoint.js';
import { DiscoverySourceError } from './errors.js';
import { checkLimit, checkToken, failureText, readJson, refuse, untilAbort } from './internal/body.js';
import { authority, checkServerUrl, HOST } from './internal/url.js';
import type { Snapshot, Source } from './source.js';

/** Options of {@link consul}. */
export interface ConsulOptions {
  /** The Consul service name. */
  readonly service: string;
  /** The agent's HTTP address. @default 'http://127.0.0.1:8500' */
  readonly address?: string;
  /** Only instances whose checks pass. @default true */
  readonly passing?: boolean;
  /** Only instances with this tag. @default none */
  readonly tag?: string;
  /** The datacenter to ask. @default the agent's */
  readonly dc?: string;
  /** ACL token, sent as `X-Consul-Token` (never logged). @default none */
  readonly token?: string;
  /** Longest a blocking query waits, in ms (Consul caps it at 10 min). @default 60000 */
  readonly wait?: number;
  /** URL scheme of the endpoints. @default 'http' */
  readonly protocol?: string;
  /**
   * Largest answer read, in bytes; a larger one (or a stream that never ends) is cut off and reported as
   * `ERR_DISCOVERY_SOURCE`, and the last endpoints stay in use. @default 16777216 (16 MiB)
   */
  readonly maxResponseBytes?: number;
  /** The fetch to use. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

type Json = Readonly<Record<string, unknown>>;

const object = (value: unknown): Json | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
const string = (value: unknown): string => (typeof value === 'string' ? value : '');

/** One entry of the health API as an endpoint, or `undefined` when it is unusable (the answer is untrusted). */
function toEndpoint(entry: unknown, protocol: string): EndpointInit | undefined {
  const service = object(object(entry)?.['Service']);
  const node = object(object(entry)?.['Node']);
  const own = service?.['Address'];
  // An empty service address means "the node's" (Consul's rule); one of the wrong type is a broken entry.
  if (own !== undefined && own !== null && typeof own !== 'string') return undefined;
  const host = string(own) || string(node?.['Address']);
  const port = service?.['Port'];
  if (!HOST.test(host) || !Number.isInteger(port) || (port as number) < 1 || (port as number) > 65_535)
    return undefined;
  // fromEntries defines own properties: `meta[key] =` with Consul's valid key '__proto__' set nothing.
  const meta: Record<string, string> = Object.fromEntries(
    Object.entries(object(service?.['Meta']) ?? {}).filter((pair) => typeof pair[1] === 'string'),
  ) as Record<string, string>;
  if (string(service?.['ID'])) meta['consul.id'] = string(service?.['ID']);
  if (string(node?.['Node'])) meta['consul.node'] = string(node?.['Node']);
  const tags = service?.['Tags'];
  if (Array.isArray(tags) && tags.length > 0 && tags.every((t) => typeof t === 'string'))
    meta['consul.tags'] = tags.join(',');
  const weight = object(service?.['Weights'])?.['Passing'];
  return {
    url: `${protocol}://${authority(host, port as number)}`,
    // A weight that is not a finite number >= 0 becomes the default, as in staticSource (Number.isFinite is false
    // for anything but a number: no typeof test needed).
    weight: Number.isFinite(weight) && (weight as number) >= 0 ? (weight as number) : 1,
    meta,
  };
}

/**
 * Endpoints of a Consul service from the health API, kept current with blocking queries.
 *
 * @throws InvalidArgumentError for a missing service name or bad options
 * @example
 * ```ts
 * createRegistry({ services: { api: consul({ service: 'api', address: 'http://consul:8500', tag: 'v2' }) } });
 * consul('api', { address: 'http://consul:8500' }); // the same, name first
 * ```
 */
export function consul(
  serviceOrOptions: string | ConsulOptions,
  more: Omit<ConsulOptions, 'service'> = {},
): Source {
  const options: ConsulOptions =
    typeof serviceOrOptions === 'string' ? { ...more, service: serviceOrOptions } : serviceOrOptions;
  if (
    typeof options !== 'object' ||
    options === null ||
    typeof options.service !== 'string' ||
    options.service === ''
  )
    throw new InvalidArgumentError('consul service', 'a Consul service name', options?.service);
  const address = checkServerUrl(options.address ?? 'http://127.0.0.1:8500', 'consul address');
  const wait = options.wait ?? 60_000;
  if (!Number.isFinite(wait) || wait < 1000 || wait > 600_000)
    throw new InvalidArgumentError('consul wait', 'ms in [1000, 600000]', wait);
  const protocol = options.protocol ?? 'http';
  const passing = options.passing ?? true;
  const maxBytes = checkLimit(options.maxResponseBytes, 'consul maxResponseBytes');
  checkToken(options.token, 'consul token');
  const service = options.service;
  return {
    kind: 'consul',
    description: `consul ${service}${options.tag ? ` tag ${options.tag}` : ''}${passing ? ' (passing)' : ''} at ${new URL(address).host}`,
    open(ctx) {
      let index = 0;
      const doFetch = options.fetch ?? globalThis.fetch;
      return {
        async resolve(signal): Promise<Snapshot> {
          const params = new URLSearchParams();
          if (options.dc) params.set('dc', options.dc);
          if (options.tag) params.set('tag', options.tag);
          if (index > 0) {
            params.set('index', String(index));
            params.set('wait', `${Math.ceil(wait / 1000)}s`);
          }
          const query = params.toString();
          const url = `${address}/v1/health/service/${encodeURIComponent(service)}?${passing ? `passing${query ? '&' : ''}` : ''}${query}`;
          // Consul adds up to wait/16 of jitter to a blocking query: allow for it before giving up.
          const limit = index > 0 ? wait + wait / 16 + 5_000 : 10_000;
          const timeout = new AbortController();
          const timer = ctx.clock.setTimeout(
            () => timeout.abort(new DiscoverySourceError('consul', `no answer within ${limit} ms`)),
            limit,
          );
          const linked = linkSignals(signal, timeout.signal);
          try {
            const headers: Record<string, string> = { accept: 'application/json' };
            if (options.token) headers['x-consul-token'] = options.token;
            // Not followed: fetch would send our X-Consul-Token to wherever a proxy redirects (a login host).
            const response = await untilAbort(
              doFetch(url, { signal: linked.signal, redirect: 'manual', headers }),
              linked.signal,
            );
            if (!response.ok)
              await refuse(response, 'consul', `${service}: HTTP ${response.status} from the health API`);
            const body = await readJson(
              response,
              maxBytes,
              'consul',
              `${service}: health API`,
              linked.signal,
            );
            if (!Array.isArray(body))
              throw new DiscoverySourceError(
                'consul',
                `${service}: expected a JSON array from the health API`,
              );
            // X-Consul-Index is a uint64 written in decimal. Anything else ('1e30', '-1', '0x10', a number
            // past 2^53 that would be sent back rounded) is not an index we can return: restart from 0,
            // as after a reset. Reset when it goes backwards (a restored snapshot); never block on 0.
            const raw = response.headers.get('x-consul-index') ?? '';
            const header = /^\d{1,16}$/.test(raw) ? Number(raw) : -1;
            index = !Number.isSafeInteger(header) || header < index ? 0 : Math.max(1, header);
            const endpoints: EndpointInit[] = [];
            for (const entry of body) {
              const endpoint = toEndpoint(entry, protocol);
              if (endpoint !== undefined) endpoints.push(endpoint);
            }
            // Entries and none usable: a malformed answer, not "no instances" ([]); the last endpoints stay.
            if (body.length && !endpoints.length)
              throw new DiscoverySourceError('consul', `${service}: no entry has a valid address and port`);
            const skipped = body.length - endpoints.length;
            // One line per answer, not per entry: an answer can hold thousands.
            if (skipped > 0)
              ctx.logger.warn(
                { service: ctx.service, source: 'consul', skipped },
                'consul: skipped entries without a valid address and port',
              );
            return { endpoints, ttlMs: 0 };
          } catch (error) {
            if (timeout.signal.aborted && !signal.aborted) throw timeout.signal.reason;
            if (error instanceof DiscoverySourceError || signal.aborted) throw error;
            throw new DiscoverySourceError('consul', `${service}: ${failureText(error, options.token)}`, {
              cause: error,
            });
          } finally {
            ctx.clock.clearTimeout(timer);
            linked.dispose();
          }
        },
      };
    },
  };
}
