/**
 * The source contract: anything that can tell the registry where a service lives. A source is opened
 * once per service; its resolver is called in a loop (after each TTL for polled sources such as DNS,
 * at once for blocking ones such as Consul and etcd watches, which wait for a change themselves).
 */
import type { Clock, Logger } from '@integ/core';
import type { EndpointInit } from './endpoint.js';

/** One answer of a source: the full set of endpoints (not a delta) and how long it stays fresh. */
export interface Snapshot {
  readonly endpoints: readonly EndpointInit[];
  /**
   * How long the answer stays valid in ms (DNS TTL). `0` means "ask again at once" (blocking sources,
   * rate-limited by `minInterval`). Absent: the registry's `refreshInterval`.
   */
  readonly ttlMs?: number;
}

/** What a source gets when the registry opens it. */
export interface SourceContext {
  /** The service name (the key in `services`). */
  readonly service: string;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  /** Aborted when the registry closes. */
  readonly signal: AbortSignal;
  /**
   * The most endpoints the registry keeps from one answer (its `maxEndpoints`): lowest priority first,
   * answer order within a priority. A source may stop looking up more once it has more than this many
   * distinct URLs (`dnsSrv` does). Absent: no limit.
   */
  readonly maxEndpoints?: number;
}

/** A source opened for one service. */
export interface Resolver {
  /** Resolves the current endpoints; a blocking source may wait until they change. Honours `signal`. */
  resolve(signal: AbortSignal): Promise<Snapshot>;
  /** Releases connections and watches. Best effort: a throw, or the rejection of an async close, is ignored. */
  close?(): void;
}

/** Something that discovers the endpoints of a service. */
export interface Source {
  /** A short kind: `static`, `env`, `dns-srv`, `dns`, `consul`, `etcd`, or your own. */
  readonly kind: string;
  /** A human-readable description shown by `inspect()`; never contains credentials. */
  readonly description: string;
  /**
   * Endpoints known synchronously at startup (static and env sources). When present the registry
   * validates them in `createRegistry` and never calls `open`.
   */
  readonly endpoints?: readonly EndpointInit[];
  /** Opens the source for one service (not called for sources with `endpoints`). */
  open?(context: SourceContext): Resolver;
}

/** Whether `value` looks like a {@link Source}. */
export function isSource(value: unknown): value is Source {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { kind?: unknown }).kind === 'string' &&
    (typeof (value as { open?: unknown }).open === 'function' ||
      Array.isArray((value as { endpoints?: unknown }).endpoints))
  );
}
