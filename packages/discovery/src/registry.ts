/**
 * The registry: the seed's `SERVICES` + `get_service_url(name)` grown up. Each service has a source
 * (static, env, DNS, Consul, etcd, your own) refreshed in the background with TTL, jitter and a minimum
 * interval; stale data is served while a source fails; endpoints are filtered by active health checks,
 * passive outlier detection and a panic threshold, then balanced.
 */
import {
  abortReason,
  type Clock,
  IntegError,
  InvalidArgumentError,
  type Logger,
  silentLogger,
  systemClock,
  TimeoutError,
  type TimerHandle,
  unrefTimer,
} from '@integ/core';
import {
  type Balancer,
  type BalancerName,
  balancerFor,
  type CallOutcome,
  type EndpointLoad,
} from './balancers.js';
import type { Endpoint, EndpointInit } from './endpoint.js';
import { DiscoverySourceError, InvalidUrlError, NoEndpointsError, UnknownServiceError } from './errors.js';
import type { HealthCheck, HealthCheckOptions } from './health.js';
import { type Steady, steady } from './internal/steady.js';
import { MAX_TIMER } from './internal/timer.js';
import { checkUrl, redactText, redactUrl } from './internal/url.js';
import {
  newOutlierRecord,
  type OutlierDetectionOptions,
  OutlierDetector,
  type OutlierRecord,
  resolveOutlierOptions,
} from './outlier.js';
import { isSource, type Resolver, type Snapshot, type Source } from './source.js';
import { type EnvSource, staticSource } from './static.js';

/** Per-service policy options; each falls back to the registry-level option of the same name. */
export interface ServiceOptions {
  /** Load-balancing policy. @default 'round-robin' */
  readonly balancer?: BalancerName | Balancer | (() => Balancer);
  /** Active health checks; `false` disables. @default false */
  readonly healthCheck?: HealthCheckOptions | false;
  /** Passive outlier detection; `false` disables. @default {} (enabled, A50/Envoy defaults) */
  readonly outlierDetection?: OutlierDetectionOptions | false;
  /**
   * A priority tier serves only while at least this % of its endpoints are healthy, else the next tier is
   * tried; when none qualifies, health is ignored (Envoy's panic mode). 0 disables panic mode. @default 50
   */
  readonly panicThreshold?: number;
  /**
   * Most endpoints one service holds. A larger answer (a source is untrusted input) keeps this many, lowest
   * priority first, and logs one `warn`. @default 5000
   */
  readonly maxEndpoints?: number;
}

/**
 * How a service is configured: a URL string, `{ url }`, `{ urls: [...] }` (the seed's shape), a source
 * (`fromEnv()`, `dnsSrv()`, `consul()`, `etcd()`), or `{ source }`, each object form with {@link ServiceOptions}.
 */
export type ServiceConfig =
  | string
  | Source
  | (ServiceOptions & { readonly url: string | EnvSource })
  | (ServiceOptions & { readonly urls: readonly (string | EndpointInit)[] | EnvSource })
  | (ServiceOptions & { readonly source: Source });

/** Options of {@link createRegistry}. */
export interface RegistryOptions extends ServiceOptions {
  /** The services by name. */
  readonly services: Readonly<Record<string, ServiceConfig>>;
  /** Refresh interval of sources that give no TTL, in ms. @default 30000 */
  readonly refreshInterval?: number;
  /** Least time between two lookups of one source, in ms (also rate-limits blocking queries). @default 1000 */
  readonly minInterval?: number;
  /** Longest time an answer is trusted before asking again (caps DNS TTLs), in ms. @default 300000 */
  readonly maxInterval?: number;
  /** Refreshes happen up to this fraction early, at random, so clients do not ask in lockstep. @default 0.1 */
  readonly jitter?: number;
  /** Time source. @default systemClock */
  readonly clock?: Clock;
  /** Randomness in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** Where source failures and ejections are logged. @default silentLogger */
  readonly logger?: Logger;
}

/** What `inspect()` says about one endpoint. */
export interface EndpointInspection {
  readonly url: string;
  readonly weight: number;
  readonly priority: number;
  readonly hostname?: string;
  /** Whether `pick()` can return it right now. */
  readonly eligible: boolean;
  /** Passing active health checks (or unchecked) and not ejected. */
  readonly healthy: boolean;
  /** Ejected by outlier detection. */
  readonly ejected: boolean;
  /** Why it is or is not eligible, in words. */
  readonly reasons: readonly string[];
  readonly health: {
    readonly status: 'healthy' | 'unhealthy' | 'unchecked';
    readonly consecutiveSuccesses: number;
    readonly consecutiveFailures: number;
    readonly lastCheckAt: number | null;
    readonly lastError: string | null;
  };
  readonly outlier: {
    readonly ejected: boolean;
    readonly reason: string | null;
    readonly ejectedUntil: number | null;
    readonly ejections: number;
    readonly multiplier: number;
    readonly consecutiveFailures: number;
  };
  readonly load: { readonly inflight: number; readonly ewmaMs: number };
}

/** What `inspect()` says about one service: what the registry believes and why. */
export interface ServiceInspection {
  readonly service: string;
  readonly source: { readonly kind: string; readonly description: string };
  /** `pending` (no answer yet), `ready`, `stale` (serving old data, source failing) or `failed` (no data, source failing). */
  readonly state: 'pending' | 'ready' | 'stale' | 'failed';
  readonly updatedAt: number | null;
  readonly nextRefreshAt: number | null;
  readonly refreshes: number;
  readonly consecutiveErrors: number;
  readonly lastError: { readonly code: string; readonly message: string } | null;
  readonly balancer: string;
  /** Whether the panic threshold is in force (health ignored). */
  readonly panic: boolean;
  readonly panicThreshold: number;
  /** Endpoints passing health checks and not ejected. */
  readonly healthyCount: number;
  readonly endpoints: readonly EndpointInspection[];
  /** One line summing it up. */
  readonly summary: string;
}

/** The registry returned by {@link createRegistry}. */
export interface Registry {
  /** The URL to call for `name` (the seed's `get_service_url`); does not count as a request in flight. */
  url(name: string): string;
  /** Chooses an endpoint of `name`; counts a request in flight until `report()`. */
  pick(name: string): Endpoint;
  /** Reports how a call to `endpoint` went: feeds the balancer (latency) and outlier detection. */
  report(endpoint: Endpoint, outcome: CallOutcome): void;
  /** What the registry believes about `name`, and why. */
  inspect(name: string): ServiceInspection;
  /** Every known endpoint of `name`, healthy or not. */
  endpoints(name: string): readonly Endpoint[];
  /** The configured service names, sorted. */
  services(): readonly string[];
  /**
   * Resolves once the source of `name` (or of every service) has answered, an empty answer too; rejects if
   * its first lookup failed, or with `signal.reason` when `signal` aborts first.
   */
  ready(name?: string, options?: { readonly signal?: AbortSignal }): Promise<void>;
  /**
   * Looks `name` up again now; concurrent calls (and the background loop) share one lookup. The loop's next
   * lookup then counts from this one (its TTL, at least `minInterval` later).
   */
  refresh(name: string): Promise<void>;
  /**
   * Calls `listener` with the endpoint list whenever the source changes it. Returns an unsubscribe function.
   * A change goes to the listeners subscribed when it happened (one subscribed meanwhile hears the next).
   */
  subscribe(name: string, listener: (endpoints: readonly Endpoint[]) => void): () => void;
  /** Stops refresh loops, health checks and sweeps, and closes sources. */
  close(): void;
}

interface HealthState {
  healthy: boolean;
  checked: boolean;
  successes: number;
  failures: number;
  lastCheckAt: number | null;
  lastError: string | null;
  timer: TimerHandle | undefined;
  controller: AbortController | undefined;
}

interface EndpointState extends EndpointLoad {
  endpoint: Endpoint;
  readonly outlier: OutlierRecord;
  readonly health: HealthState;
  removed: boolean;
}

interface ResolvedHealth {
  readonly check: HealthCheck;
  readonly interval: number;
  readonly timeout: number;
  readonly jitter: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

interface Shared {
  readonly clock: Clock;
  /** The registry's time: the clock's readings, never stepping back. Durations and deadlines use it. */
  readonly time: Steady;
  readonly random: () => number;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly refreshInterval: number;
  readonly minInterval: number;
  readonly maxInterval: number;
  readonly jitter: number;
}

function positive(
  name: string,
  value: unknown,
  fallback: number,
  min = 0,
  max = Number.POSITIVE_INFINITY,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
    throw new InvalidArgumentError(
      name,
      `a number in [${min}, ${max === Number.POSITIVE_INFINITY ? '∞' : max}]`,
      value,
    );
  return value;
}

function resolveHealth(
  where: string,
  options: HealthCheckOptions | false | undefined,
): ResolvedHealth | null {
  if (options === undefined || options === false) return null;
  if (typeof options !== 'object' || options === null || typeof options.check !== 'function')
    throw new InvalidArgumentError(`${where}.check`, 'a health check function such as httpCheck()', options);
  return {
    check: options.check,
    interval: positive(`${where}.interval`, options.interval, 10_000, 1),
    timeout: positive(`${where}.timeout`, options.timeout, 2_000, 1),
    jitter: positive(`${where}.jitter`, options.jitter, 0.1, 0, 1),
    healthyThreshold: positive(`${where}.healthyThreshold`, options.healthyThreshold, 2, 1),
    unhealthyThreshold: positive(`${where}.unhealthyThreshold`, options.unhealthyThreshold, 3, 1),
  };
}

// Every message shown by inspect() or logged goes through redactText: a foreign error may quote a URL
// with its credentials (undici does for user:password@).
// Never throws: String() of an object with no prototype, a revoked Proxy or a throwing toString() did, inside the
// failure handling, so the failure went uncounted and ready() never settled.
function describeError(error: unknown): string {
  try {
    // Not instanceof Error: an error of another realm (a vm context, a test environment) is none, and read as
    // String() it became 'TimeoutError: ...', so sourceError() copied an IntegError it should pass on as thrown.
    return redactText(String((error as Error | null)?.message ?? error));
  } catch {
    return 'an unreadable failure';
  }
}

// What ready(), refresh(), pick()'s cause and inspect() show of a failed lookup, masked as the README's Errors
// section promises: an IntegError as thrown when its message has nothing to mask, else a copy with its code and
// `retryable`, the original as `cause` (docs/decisions/0195); any other failure wrapped in a DiscoverySourceError.
// `error` is whatever was thrown, typed as what the brand test looks for.
function sourceError(error: IntegError | null, kind: string): IntegError {
  const message = describeError(error);
  try {
    // The string brand, as isIntegError() reads it (one property read, no import): an IntegError of a second
    // copy of @integ/core is no instanceof ours, and was wrapped as an unknown failure, its code lost.
    if (error?.['@@integ/error'])
      return message === error.message
        ? error
        : new IntegError(error.code as `ERR_${string}`, message, {
            cause: error,
            retryable: error.retryable as boolean,
          });
  } catch {
    // A getter that throws (or a revoked Proxy): wrapped below like any other unreadable failure.
  }
  return new DiscoverySourceError(kind, message, { cause: error });
}

class Service {
  readonly name: string;
  readonly source: Source;
  readonly balancer: Balancer;
  readonly panicThreshold: number;
  readonly maxEndpoints: number;
  readonly detector: OutlierDetector | null;
  readonly health: ResolvedHealth | null;
  private readonly shared: Shared;
  readonly states = new Map<string, EndpointState>();
  list: EndpointState[] = [];
  private records: OutlierRecord[] = [];
  private cache: EndpointState[] | null = null;
  panic = false;
  status: 'pending' | 'ready' | 'failed' = 'pending';
  updatedAt: number | null = null;
  nextRefreshAt: number | null = null;
  refreshes = 0;
  consecutiveErrors = 0;
  lastError: IntegError | undefined = undefined;
  private resolver: Resolver | undefined;
  // undefined while refresh() calls resolve() (synchronously, before the lookup is stored as in flight).
  private inflightRefresh: Promise<void> | null | undefined = null;
  private observeThrew = 0;
  // Rejects the lookup in flight: close() ends it whatever its resolve() does.
  private stop?: (error: unknown) => void;
  private lastStart = Number.NEGATIVE_INFINITY;
  private readyWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  private listeners = new Set<(endpoints: readonly Endpoint[]) => void>();
  private sweepTimer: TimerHandle | undefined;
  private refreshTimer: TimerHandle | undefined;
  // Counts the loop's timers: one that refresh() moved, left armed by a clearTimeout that threw, does nothing.
  private timers = 0;
  private closed = false;

  constructor(name: string, source: Source, options: ServiceOptions, shared: Shared) {
    this.name = name;
    this.source = source;
    this.shared = shared;
    const b = options.balancer ?? 'round-robin';
    this.balancer = typeof b === 'function' ? b() : balancerFor(b);
    this.panicThreshold = positive(`services.${name}.panicThreshold`, options.panicThreshold, 50, 0, 100);
    this.maxEndpoints = positive(`services.${name}.maxEndpoints`, options.maxEndpoints, 5000, 1);
    if (this.maxEndpoints % 1)
      throw new InvalidArgumentError(`services.${name}.maxEndpoints`, 'a whole number', this.maxEndpoints);
    const od = options.outlierDetection;
    this.detector = od === false ? null : new OutlierDetector(resolveOutlierOptions(od ?? {}), shared.random);
    this.health = resolveHealth(`services.${name}.healthCheck`, options.healthCheck);
  }

  start(): void {
    if (this.source.endpoints !== undefined) {
      this.apply({ endpoints: this.source.endpoints });
      this.status = 'ready';
      this.updatedAt = this.shared.clock.now();
    } else if (typeof this.source.open === 'function') {
      this.resolver = this.source.open({
        service: this.name,
        // A clearTimeout that throws is dropped in the sources too (0232, 0233): thrown in a lookup's finally, it
        // turned a consul or etcd answer into a failed lookup (consul's index already past it), and a DNS query's
        // answer into an uncaught exception, the lookup pending for good.
        clock: { ...this.shared.clock, clearTimeout: this.clear.bind(this) },
        random: this.shared.random,
        logger: this.shared.logger,
        signal: this.shared.signal,
        maxEndpoints: this.maxEndpoints,
      });
      // An open() that returns nothing (or a promise: an async open) would leave the service pending forever.
      if (typeof this.resolver?.resolve !== 'function')
        throw new InvalidArgumentError(
          `services.${this.name}.source`,
          'open() => { resolve }',
          this.resolver,
        );
      this.loop(this.refresh());
    }
    if (this.detector !== null) this.scheduleSweep();
  }

  // --- refresh loop -------------------------------------------------------------------------------

  /**
   * Schedules the next background lookup from the outcome of `run`. Every lookup that starts while one is
   * scheduled (a `refresh()`) moves it, so the loop never asks within `minInterval` of that lookup.
   */
  private loop(run: Promise<number | undefined>): void {
    run.then(
      (ttl) => this.next(this.ttlDelay(ttl)),
      () => this.next(this.errorDelay()),
    );
  }

  private next(delay: number): void {
    if (this.closed) return;
    const { clock } = this.shared;
    // The clock waits at most MAX_TIMER: inspect() shows when the lookup really runs.
    delay = Math.min(delay, MAX_TIMER);
    this.nextRefreshAt = clock.now() + delay;
    const n = ++this.timers;
    this.refreshTimer = clock.setTimeout(() => {
      if (n !== this.timers) return;
      this.refreshTimer = undefined;
      this.loop(this.refresh());
    }, delay);
    // As the sweep and health-check timers: a registry never closed does not keep the process alive.
    unrefTimer(this.refreshTimer);
  }

  private ttlDelay(ttl: number | undefined): number {
    const { refreshInterval, maxInterval, jitter, random } = this.shared;
    const base = Math.min(ttl ?? refreshInterval, maxInterval);
    // Refresh up to `jitter` early, never late: an answer is not used past its TTL.
    return this.spaced(base * (1 - jitter * random()));
  }

  /** `delay`, but never less than what keeps `minInterval` between the starts of two lookups. */
  private spaced(delay: number): number {
    const { minInterval, time } = this.shared;
    let at = this.lastStart + minInterval;
    // The sum rounds to the nearest double, maybe down (3985.31 + 128 = 4113.31 - 5e-13): then the next one up.
    if (at - this.lastStart < minInterval) at += at * 2 ** -52;
    const wait = at - time();
    // Not Math.max: a NaN delay (a custom source's ttlMs: NaN) would win it and become a 0 ms hot loop.
    return delay > wait ? delay : Math.max(wait, 0);
  }

  private errorDelay(): number {
    const { minInterval, refreshInterval, jitter, random } = this.shared;
    const backoff = Math.min(
      Math.max(refreshInterval, minInterval),
      // From at least 1 ms: with minInterval 0 a failing source would be asked again at once, forever.
      Math.max(minInterval, 1) * 2 ** Math.min(this.consecutiveErrors - 1, 20),
    );
    return this.spaced(backoff * (1 - jitter * random()));
  }

  /** One lookup, shared by concurrent callers; resolves the answer's TTL. */
  refresh(): Promise<number | undefined> {
    // A closed resolver is not asked again (an etcd one would wait out its resync on an aborted signal).
    if (this.closed) return Promise.reject(closedError(this.name));
    if (this.resolver === undefined) return Promise.resolve(undefined);
    // A resolve() calling refresh() of its own service gets this lookup a tick later, once stored: it started
    // another each time, recursing until the stack overflowed.
    if (this.inflightRefresh === undefined) return Promise.resolve().then(() => this.refresh());
    if (this.inflightRefresh !== null) return this.inflightRefresh as Promise<number | undefined>;
    const resolver = this.resolver;
    this.inflightRefresh = undefined;
    const run = (async (): Promise<number | undefined> => {
      try {
        this.lastStart = this.shared.time();
        // Called in an async function: a resolve() that threw synchronously ran this whole function (finally
        // included) before `run` was stored below, which then stayed the lookup in flight: never asked again.
        // Ended by close() too: a resolve() that ignores its signal, or awaits refresh() of its own service (a
        // deadlock), held every refresh() for good (docs/decisions/0169).
        const snapshot = await new Promise<Snapshot>((ok, no) => {
          this.stop = no;
          (async () => resolver.resolve(this.shared.signal))().then(ok, no);
        });
        if (this.closed) return undefined;
        // Read before the answer is taken in: a now() that throws fails the lookup with nothing changed.
        const at = this.shared.clock.now();
        const changed = this.apply(snapshot);
        this.refreshes++;
        this.consecutiveErrors = 0;
        this.lastError = undefined;
        this.status = 'ready';
        this.updatedAt = at;
        for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
        // Last: a listener that reads inspect() saw the state before this answer ('pending', or 'stale' with the
        // last failure), and one that called close() had this lookup counted after it.
        if (changed) this.notify();
        return snapshot.ttlMs;
      } catch (error) {
        const wrapped = sourceError(error as IntegError, this.source.kind);
        // The registry's own close reason names no service ('*'): name this one, as ready() does.
        if (this.closed) throw error === this.shared.signal.reason ? closedError(this.name) : wrapped;
        this.consecutiveErrors++;
        this.lastError = wrapped;
        if (this.status !== 'ready') this.status = 'failed';
        this.shared.logger.warn(
          {
            service: this.name,
            source: this.source.kind,
            code: wrapped.code,
            stale: this.list.length > 0,
          },
          'discovery source failed; serving the last known endpoints',
        );
        for (const waiter of this.readyWaiters.splice(0)) waiter.reject(wrapped);
        throw wrapped;
      } finally {
        this.inflightRefresh = null;
      }
    })();
    // Unless it has ended already: a now() that threw before the first await ran it through its finally, and the
    // failed lookup, stored, stayed in flight for good.
    if (this.inflightRefresh === undefined) this.inflightRefresh = run as Promise<void>;
    if (this.refreshTimer !== undefined) {
      this.timers++;
      this.clear(this.refreshTimer);
      this.refreshTimer = undefined;
      this.loop(run);
    }
    return run;
  }

  ready(signal?: AbortSignal): Promise<void> {
    if (this.status === 'ready') return Promise.resolve();
    if (this.status === 'failed') return Promise.reject(this.lastError);
    // Nothing will answer after close(): no waiting forever.
    if (this.closed) return Promise.reject(closedError(this.name));
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.readyWaiters.indexOf(waiter);
        if (i >= 0) this.readyWaiters.splice(i, 1);
        reject(abortReason(signal as AbortSignal));
      };
      const waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      // A signal stub without working listener methods is refused before its waiter is queued: one queued, a
      // removeEventListener missing or throwing threw out of the loop that settles the waiters, which took the
      // answer for a failed lookup and left later ready() calls waiting. A listener never added is no-op to remove.
      try {
        signal?.removeEventListener('abort', onAbort);
        signal?.addEventListener('abort', onAbort, { once: true });
      } catch {
        throw new InvalidArgumentError('signal', 'an AbortSignal', signal);
      }
      this.readyWaiters.push(waiter);
    });
  }

  subscribe(listener: (endpoints: readonly Endpoint[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // --- endpoint set -------------------------------------------------------------------------------

  /** Takes an answer in; says whether the endpoint list changed. */
  private apply(snapshot: Snapshot): boolean {
    const seen = new Map<string, Endpoint>();
    let changed = false;
    let cut = 0;
    let invalid = 0;
    // A source is untrusted input: past maxEndpoints, keep the lowest priority tiers (RFC 2782 order).
    const inits =
      snapshot.endpoints.length > this.maxEndpoints
        ? [...snapshot.endpoints].sort((a, b) => tier(a) - tier(b))
        : snapshot.endpoints;
    // Read whole before anything is changed: an entry whose getter throws (a Proxy) turns the answer down, and
    // read in the same loop it did so with the entries before it in state, health-checked but never served.
    for (const init of inits) {
      let url: string;
      try {
        url = checkUrl(init.url, `${this.source.kind} answer for ${this.name}`);
      } catch {
        invalid++;
        continue;
      }
      if (seen.has(url)) continue;
      if (seen.size >= this.maxEndpoints) {
        cut++;
        continue;
      }
      seen.set(url, makeEndpoint(this.name, url, init));
    }
    // Nothing usable is a failed lookup (the last endpoints kept), as consul() and etcd() say: a broken
    // source must not empty the service. An empty list still empties it.
    if (invalid && !seen.size)
      throw new DiscoverySourceError(this.source.kind, `no valid URL in the answer (${invalid} invalid)`);
    // One line per answer, not per entry: an answer can hold thousands (as consul() does).
    if (invalid + cut)
      this.shared.logger.warn(
        { service: this.name, source: this.source.kind, kept: seen.size, invalid, cut },
        'discovery answer: invalid URLs skipped, or cut to maxEndpoints',
      );
    // The clock too is read, and the new endpoints' first checks armed, before anything changes: a now() or
    // setTimeout that throws turns the answer down (a failed lookup, as a source's error is). Thrown halfway, it left
    // endpoints in state, never served, the one whose timer failed never checked (a later answer found it known).
    const added: EndpointState[] = [];
    for (const [url, endpoint] of seen) {
      if (this.states.has(url)) continue;
      added.push({
        endpoint,
        inflight: 0,
        ewma: 0,
        ewmaStamp: this.shared.time(),
        outlier: newOutlierRecord(),
        health: {
          healthy: true,
          checked: false,
          successes: 0,
          failures: 0,
          lastCheckAt: null,
          lastError: null,
          timer: undefined,
          controller: undefined,
        },
        removed: false,
      });
    }
    if (this.health !== null)
      try {
        for (const state of added) this.scheduleCheck(state, 0);
      } catch (error) {
        // A timer left armed by a clearTimeout that throws too finds its endpoint removed.
        for (const state of added) {
          state.removed = true;
          this.clear(state.health.timer);
        }
        throw error;
      }
    for (const [url, endpoint] of seen) {
      const existing = this.states.get(url);
      if (existing !== undefined && !sameEndpoint(existing.endpoint, endpoint)) {
        existing.endpoint = endpoint;
        changed = true;
      }
    }
    for (const state of added) {
      this.states.set(state.endpoint.url, state);
      changed = true;
    }
    for (const [url, state] of this.states) {
      if (seen.has(url)) continue;
      this.states.delete(url);
      this.stopCheck(state);
      state.removed = true;
      changed = true;
    }
    if (!changed) return false;
    this.list = [...this.states.values()];
    this.records = this.list.map((s) => s.outlier);
    this.cache = null;
    return true;
  }

  private notify(): void {
    const endpoints = this.list.map((s) => s.endpoint);
    // To the listeners of when the change happened: one added by a listener hears the next change (else a
    // listener subscribing anew each time is called without end), one removed meanwhile is skipped.
    for (const listener of new Set(this.listeners)) {
      if (this.listeners.has(listener))
        try {
          listener(endpoints);
        } catch (error) {
          this.shared.logger.error({ service: this.name, err: describeError(error) }, 'subscriber threw');
        }
    }
  }

  /**
   * The endpoints `pick()` chooses among. Tiers are tried in priority order (RFC 2782: the lowest it can
   * reach): the first whose healthy share is at least `panicThreshold`% serves its healthy endpoints, so
   * a tier that is mostly down fails over to the next (as Envoy spills load to the next priority). When
   * no tier qualifies, health is ignored (panic mode) in the first tier with a healthy endpoint, or the
   * lowest tier when none has one.
   */
  candidates(): EndpointState[] {
    if (this.cache !== null) return this.cache;
    const priorities = [...new Set(this.list.map((s) => s.endpoint.priority))].sort((a, b) => a - b);
    const tiers = priorities.map((p) => this.list.filter((s) => s.endpoint.priority === p));
    let pool: EndpointState[] | undefined;
    let fallback: EndpointState[] | undefined;
    this.panic = false;
    for (const tier of tiers) {
      const healthy = tier.filter((s) => s.health.healthy && s.outlier.ejectedAt === null);
      if (healthy.length > 0 && healthy.length * 100 >= this.panicThreshold * tier.length) {
        pool = healthy;
        break;
      }
      if (healthy.length > 0) fallback ??= tier;
    }
    if (pool === undefined && this.list.length > 0 && this.panicThreshold > 0) {
      this.panic = true;
      pool = fallback ?? tiers[0];
    }
    this.cache = pool ?? [];
    return this.cache;
  }

  pick(track: boolean): Endpoint {
    const candidates = this.candidates();
    if (candidates.length === 0) {
      const reason = this.list.length > 0 ? 'unhealthy' : this.status === 'ready' ? 'empty' : 'pending';
      // Not "await ready()": after a failed first lookup it rejects, until a retry answers.
      const detail =
        this.status === 'failed'
          ? `its first lookup failed: ${(this.lastError as IntegError).message}; it retries later`
          : '';
      throw new NoEndpointsError(this.name, reason, detail, { cause: this.lastError });
    }
    let state = candidates[0] as EndpointState;
    // A balancer that throws is a bug in the caller's code: said as such, its error the cause (docs/decisions/0168).
    // So is one answering with no candidate (undefined: a TypeError came out of the inflight count below), or with
    // no endpoint of this service (one kept from an earlier answer, made up, another service's): its URL, maybe
    // given to another host since, was handed out. One lookup, not a search of the candidates on every pick.
    if (candidates.length > 1)
      try {
        state = this.balancer.pick(candidates, this.shared.random, this.shared.time()) as EndpointState;
        if (this.states.get(state.endpoint.url) !== state) throw 'answered no endpoint of the service';
      } catch (error) {
        throw new IntegError(
          'ERR_BALANCER',
          `${this.name}: balancer ${this.balancer.name} pick() failed: ${describeError(error)}`,
          { cause: error, retryable: false },
        );
      }
    if (track) state.inflight++;
    return state.endpoint;
  }

  report(endpoint: Endpoint, outcome: CallOutcome): void {
    const state = this.states.get(endpoint.url);
    if (state === undefined) return;
    if (state.inflight > 0) state.inflight--;
    const now = this.shared.time();
    // Never into the caller's request path: logged (its first throw: one per report flooded the log, 0169), and
    // the outlier detector still counts the call (0168).
    try {
      this.balancer.observe?.(state, outcome, now);
    } catch (error) {
      if (!this.observeThrew++)
        this.shared.logger.error(
          { service: this.name, balancer: this.balancer.name, err: describeError(error) },
          'balancer observe() threw',
        );
    }
    if (this.detector?.record(state.outlier, outcome, this.records, now)) {
      this.cache = null;
      this.logEjection(state);
    }
  }

  private logEjection(state: EndpointState): void {
    this.shared.logger.warn(
      {
        service: this.name,
        url: redactUrl(state.endpoint.url),
        reason: state.outlier.reason,
        until: (state.outlier.ejectedUntil as number) - this.shared.time.behind,
      },
      'endpoint ejected',
    );
  }

  // --- outlier sweep ------------------------------------------------------------------------------

  private scheduleSweep(): void {
    const detector = this.detector;
    if (detector === null || this.closed) return;
    this.sweepTimer = this.shared.clock.setTimeout(() => {
      this.sweepTimer = undefined;
      if (this.closed) return;
      const now = this.shared.time();
      if (detector.sweep(this.records, now)) {
        this.cache = null;
        // Success-rate and failure-percentage ejections are logged as consecutive-5xx ones are in report().
        for (const s of this.list)
          if (s.outlier.ejectedAt === now && s.outlier.reason !== 'consecutive-5xx') this.logEjection(s);
      }
      this.scheduleSweep();
    }, detector.options.interval);
    unrefTimer(this.sweepTimer);
  }

  // --- active health checks -----------------------------------------------------------------------

  private scheduleCheck(state: EndpointState, delay: number): void {
    if (this.closed || state.removed) return;
    state.health.timer = this.shared.clock.setTimeout(() => void this.runCheck(state), delay);
    unrefTimer(state.health.timer);
  }

  private stopCheck(state: EndpointState): void {
    this.clear(state.health.timer);
    state.health.timer = undefined;
    state.health.controller?.abort();
  }

  /**
   * Clears `timer`. A clock whose clearTimeout throws: close() reports it (in `errors`); elsewhere it is dropped, as a
   * timer left armed finds nothing to do (a removed endpoint, a finished check, a moved loop). Thrown, it stopped an
   * endpoint's checks for good (an unhandled rejection) and an answer halfway.
   */
  private clear(timer: TimerHandle | undefined, errors?: unknown[]): void {
    try {
      if (timer !== undefined) this.shared.clock.clearTimeout(timer);
    } catch (error) {
      errors?.push(error);
    }
  }

  private async runCheck(state: EndpointState): Promise<void> {
    const health = this.health;
    if (health === null || this.closed || state.removed) return;
    const { clock, random } = this.shared;
    const controller = new AbortController();
    state.health.controller = controller;
    const timeout = clock.setTimeout(
      () =>
        controller.abort(
          new TimeoutError(health.timeout, `health check of ${redactUrl(state.endpoint.url)}`),
        ),
      health.timeout,
    );
    let ok = false;
    let problem: string | null = null;
    try {
      const aborted = new Promise<never>((_, reject) => {
        controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
      });
      aborted.catch(() => {});
      ok =
        (await Promise.race([health.check(state.endpoint, { signal: controller.signal }), aborted])) !==
        false;
      if (!ok) problem = 'check returned false';
    } catch (error) {
      problem = describeError(error);
    } finally {
      this.clear(timeout);
      state.health.controller = undefined;
    }
    if (this.closed || state.removed) return;
    const h = state.health;
    h.checked = true;
    h.lastCheckAt = clock.now();
    h.lastError = problem;
    if (ok) {
      h.successes++;
      h.failures = 0;
      if (!h.healthy && h.successes >= health.healthyThreshold) {
        h.healthy = true;
        this.cache = null;
      }
    } else {
      h.failures++;
      h.successes = 0;
      if (h.healthy && h.failures >= health.unhealthyThreshold) {
        h.healthy = false;
        this.cache = null;
        this.shared.logger.warn(
          { service: this.name, url: redactUrl(state.endpoint.url) },
          'endpoint failed its health check',
        );
      }
    }
    this.scheduleCheck(state, health.interval * (1 + health.jitter * random()));
  }

  // --- introspection ------------------------------------------------------------------------------

  inspect(): ServiceInspection {
    const candidates = new Set(this.candidates());
    const { time } = this.shared;
    time(); // brings time.behind up to date
    // Ejections end on the registry's time; shown on the clock as it reads now.
    const onClock = (t: number | null): number | null => (t === null ? null : t - time.behind);
    const endpoints = this.list.map((s): EndpointInspection => {
      const reasons: string[] = [];
      const ejected = s.outlier.ejectedAt !== null;
      if (ejected)
        reasons.push(
          `ejected by outlier detection (${s.outlier.reason}) until ${new Date(onClock(s.outlier.ejectedUntil) as number).toISOString()}`,
        );
      if (!s.health.healthy)
        reasons.push(
          `failing active health checks (${s.health.failures} in a row${s.health.lastError ? `: ${s.health.lastError}` : ''})`,
        );
      const eligible = candidates.has(s);
      if (eligible && this.panic) reasons.push('picked despite its health: panic threshold in force');
      else if (eligible) reasons.push('healthy');
      else if (!ejected && s.health.healthy)
        reasons.push('another priority tier serves (tiers are tried in order)');
      return {
        url: redactUrl(s.endpoint.url),
        weight: s.endpoint.weight,
        priority: s.endpoint.priority,
        ...(s.endpoint.hostname === undefined ? {} : { hostname: s.endpoint.hostname }),
        eligible,
        healthy: s.health.healthy && !ejected,
        ejected,
        reasons,
        health: {
          status:
            this.health === null || !s.health.checked
              ? s.health.healthy
                ? 'unchecked'
                : 'unhealthy'
              : s.health.healthy
                ? 'healthy'
                : 'unhealthy',
          consecutiveSuccesses: s.health.successes,
          consecutiveFailures: s.health.failures,
          lastCheckAt: s.health.lastCheckAt,
          lastError: s.health.lastError,
        },
        outlier: {
          ejected,
          reason: s.outlier.reason,
          ejectedUntil: onClock(s.outlier.ejectedUntil),
          ejections: s.outlier.ejections,
          multiplier: s.outlier.multiplier,
          consecutiveFailures: s.outlier.consecutiveFailures,
        },
        load: { inflight: s.inflight, ewmaMs: s.ewma },
      };
    });
    const state =
      this.status === 'pending'
        ? 'pending'
        : this.status === 'failed'
          ? 'failed'
          : this.consecutiveErrors > 0
            ? 'stale'
            : 'ready';
    const eligibleCount = endpoints.filter((e) => e.eligible).length;
    const summary = [
      `${this.name}: ${state}, ${endpoints.length} endpoint(s), ${eligibleCount} eligible via ${this.balancer.name}`,
      this.panic ? `panic mode (no priority tier ${this.panicThreshold}% healthy)` : '',
      state === 'stale' || state === 'failed'
        ? `source failing: ${(this.lastError as IntegError).message}`
        : '',
    ]
      .filter(Boolean)
      .join('; ');
    return {
      service: this.name,
      source: { kind: this.source.kind, description: this.source.description },
      state,
      updatedAt: this.updatedAt,
      nextRefreshAt: this.nextRefreshAt,
      refreshes: this.refreshes,
      consecutiveErrors: this.consecutiveErrors,
      lastError: this.lastError ? { code: this.lastError.code, message: this.lastError.message } : null,
      balancer: this.balancer.name,
      panic: this.panic,
      panicThreshold: this.panicThreshold,
      healthyCount: endpoints.filter((e) => e.healthy).length,
      endpoints,
      summary,
    };
  }

  /** Stops everything of the service; what throws meanwhile (a clock's clearTimeout) goes to `errors`. */
  close(errors: unknown[]): void {
    this.closed = true;
    // Every timer is cleared whatever clearing one threw: a throw left the others armed, the lookup in flight and
    // ready() waiting, the checks in flight running, and the services after this one open.
    const timers = [this.sweepTimer, this.refreshTimer];
    for (const { health } of this.states.values()) {
      health.controller?.abort();
      timers.push(health.timer);
    }
    for (const timer of timers) this.clear(timer, errors);
    // Closing the source is best effort: a throw is dropped, and so is the rejection of an async close().
    void (async () => this.resolver?.close?.())().catch(() => {});
    const error = closedError(this.name);
    this.stop?.(error);
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(error);
  }
}

const closedError = (service: string): NoEndpointsError =>
  new NoEndpointsError(service, 'pending', 'the registry was closed');

function tier(init: EndpointInit): number {
  return Number.isFinite(init.priority) ? (init.priority as number) : 0;
}

function makeEndpoint(service: string, url: string, init: EndpointInit): Endpoint {
  const weight =
    typeof init.weight === 'number' && Number.isFinite(init.weight) && init.weight >= 0 ? init.weight : 1;
  const priority = tier(init);
  return Object.freeze({
    url,
    service,
    weight,
    priority,
    ...(init.hostname === undefined ? {} : { hostname: init.hostname }),
    ...(init.meta === undefined ? {} : { meta: Object.freeze({ ...init.meta }) }),
  });
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  if (a.weight !== b.weight || a.priority !== b.priority || a.hostname !== b.hostname) return false;
  const am = a.meta ?? {};
  const bm = b.meta ?? {};
  const keys = Object.keys(am);
  if (keys.length !== Object.keys(bm).length) return false;
  return keys.every((k) => am[k] === bm[k]);
}

function isEnvSource(value: unknown): value is EnvSource {
  return isSource(value) && value.kind === 'env' && typeof (value as EnvSource).forService === 'function';
}

function toSource(name: string, config: ServiceConfig): { source: Source; options: ServiceOptions } {
  const setting = `services.${name}`;
  if (typeof config === 'string') return { source: staticSource([config], `${setting}.url`), options: {} };
  if (typeof config !== 'object' || config === null)
    throw new InvalidArgumentError(setting, '{ url }, { urls }, a URL string or a source', config);
  if (isEnvSource(config)) return { source: config.forService(name), options: {} };
  if (isSource(config)) return { source: config, options: {} };
  const options = config as ServiceOptions;
  if ('url' in config) {
    const url = config.url;
    if (isEnvSource(url)) return { source: url.forService(name), options };
    if (typeof url !== 'string')
      throw new InvalidUrlError(`${setting}.url`, `expected a string, got ${typeof url}`);
    return { source: staticSource([url], `${setting}.url`), options };
  }
  if ('urls' in config) {
    const urls = config.urls;
    if (isEnvSource(urls)) return { source: urls.forService(name), options };
    if (!Array.isArray(urls) || urls.length === 0)
      throw new InvalidArgumentError(`${setting}.urls`, 'a non-empty array of URLs', urls);
    return { source: staticSource(urls, `${setting}.urls`), options };
  }
  if ('source' in config) {
    const source = config.source;
    if (isEnvSource(source)) return { source: source.forService(name), options };
    if (!isSource(source))
      throw new InvalidArgumentError(`${setting}.source`, 'a source such as dnsSrv()', source);
    return { source, options };
  }
  throw new InvalidArgumentError(setting, '{ url }, { urls }, a URL string or a source', config);
}

/**
 * Creates a registry of services. Static and env services are validated here (an invalid URL throws at
 * startup, naming the env var); dynamic sources start resolving at once in the background.
 *
 * @throws InvalidUrlError for an invalid static or env URL; InvalidArgumentError for bad options
 * @example
 * ```ts
 * const registry = createRegistry({
 *   services: {
 *     auth: fromEnv('AUTH_SERVICE', 'http://localhost:8001'), // the seed's SERVICES entry
 *     billing: { urls: ['http://10.0.0.1:80', 'http://10.0.0.2:80'] },
 *   },
 *   balancer: 'peak-ewma',
 * });
 * const getServiceUrl = (name: string) => registry.url(name); // the seed's get_service_url
 * ```
 */
export function createRegistry(options: RegistryOptions): Registry {
  if (
    typeof options !== 'object' ||
    options === null ||
    typeof options.services !== 'object' ||
    options.services === null
  )
    throw new InvalidArgumentError('services', 'an object of service configs', options?.services);
  // A bad clock, random or logger would otherwise throw later, inside a background refresh or a pick.
  const { clock = systemClock, random = Math.random, logger = silentLogger } = options;
  if (
    !['now', 'setTimeout', 'clearTimeout'].every(
      (k) => typeof (clock as Clock | null)?.[k as 'now'] === 'function',
    )
  )
    throw new InvalidArgumentError('clock', 'a Clock ({ now, setTimeout, clearTimeout })', clock);
  if (typeof random !== 'function')
    throw new InvalidArgumentError('random', 'a function returning [0, 1)', random);
  const levels = ['debug', 'info', 'warn', 'error'] as const;
  if (!levels.every((k) => typeof (logger as Logger | null)?.[k] === 'function'))
    throw new InvalidArgumentError('logger', 'a pino-style logger ({ debug, info, warn, error })', logger);
  // The logger is user code too: one that threw (or returned a rejected promise) stopped the outlier sweeps
  // for good, left ready() pending after a failed lookup and failed a lookup whose subscriber threw. Its own
  // failure is dropped: there is nowhere else to report it (a throw in the executor rejects, as a rejection does).
  const log = {} as Logger;
  for (const k of levels)
    log[k] = (...args: unknown[]): void =>
      void new Promise((resolve) => resolve(logger[k](...(args as [object])))).catch(() => {});
  const controller = new AbortController();
  // Every lookup in flight listens on its signal (a Consul or etcd query per service, a DNS query per SRV target
  // and family), each removed when it ends: past 10, Node printed a MaxListenersExceededWarning ('possible memory
  // leak'). No limit, as undici lifts it for a request's signal. Read at run time, not imported, and best effort: the
  // registry still loads where there is no process or node:events (a browser, an edge runtime).
  try {
    process.getBuiltinModule('events').setMaxListeners(0, controller.signal);
  } catch {}
  let randomThrew = 0;
  const shared: Shared = {
    // A timer fires at once past 2^31 - 1 ms (~24.8 days): every wait of the registry and its sources (TTLs,
    // intervals, timeouts) is capped there, as core's sleep() does (decision 0005), instead of a hot loop.
    clock: {
      now: () => clock.now(),
      setTimeout: (fn, ms) => clock.setTimeout(fn, Math.min(ms, MAX_TIMER)),
      clearTimeout: (handle) => clock.clearTimeout(handle),
    },
    time: steady(clock),
    // Drawn in timers too (the refresh loop's jitter, health checks, outlier sweeps), where a throw stopped the
    // loop with an unhandled rejection: a throwing random is logged and Math.random draws instead (0168). Logged
    // once: one that always throws logged at every draw, two per P2C pick (docs/decisions/0169).
    // A value outside [0, 1) is no draw either (NaN made every health check a 0 ms loop; a negative broke P2C; 1
    // sent a balancer's floor(r * n), as the Balancer contract allows, past its candidates), nor one that is no
    // number: a BigInt passed the range check and threw in a health check's timer.
    random: () => {
      try {
        const value = random();
        if (typeof value === 'number' && value >= 0 && value < 1) return value;
        throw value;
      } catch (error) {
        if (!randomThrew++) log.error({ err: describeError(error) }, 'random failed; used Math.random');
        return Math.random();
      }
    },
    logger: log,
    signal: controller.signal,
    refreshInterval: positive('refreshInterval', options.refreshInterval, 30_000, 1),
    minInterval: positive('minInterval', options.minInterval, 1_000, 0),
    maxInterval: positive('maxInterval', options.maxInterval, 300_000, 1),
    jitter: positive('jitter', options.jitter, 0.1, 0, 1),
  };
  const defaults = stripUndefined(options);
  const services = new Map<string, Service>();
  for (const name of Object.keys(options.services)) {
    const { source, options: own } = toSource(name, options.services[name] as ServiceConfig);
    const merged: ServiceOptions = { ...defaults, ...stripUndefined(own) };
    services.set(name, new Service(name, source, merged, shared));
  }
  const names = [...services.keys()].sort();
  // Every service is closed, even after one threw (a clock whose clearTimeout throws); then the first error is
  // thrown, as a fake clock's advance() does (docs/decisions/0230).
  const close = (): void => {
    if (controller.signal.aborted) return;
    controller.abort(closedError('*'));
    const errors: unknown[] = [];
    for (const service of services.values()) service.close(errors);
    if (errors.length) throw errors[0];
  };
  for (const service of services.values())
    try {
      service.start();
    } catch (error) {
      // A source whose open() throws: the services started before it must not run on with no registry to close.
      // Its error is masked as a failed lookup's is (a TimeoutError may quote a URL with credentials).
      // open()'s error, not one of closing (a clock's): open() is what failed.
      try {
        close();
      } catch {}
      throw sourceError(error as IntegError, service.source.kind);
    }

  const get = (name: string): Service => {
    const service = services.get(name);
    // Copies, here and in services(): a caller's push or sort must not change the list for everyone.
    if (service === undefined) throw new UnknownServiceError(String(name), names.slice());
    return service;
  };

  return {
    url: (name) => get(name).pick(false).url,
    pick: (name) => get(name).pick(true),
    report(endpoint, outcome) {
      if (
        typeof endpoint !== 'object' ||
        endpoint === null ||
        typeof endpoint.url !== 'string' ||
        typeof endpoint.service !== 'string'
      )
        throw new InvalidArgumentError('report endpoint', 'an endpoint returned by pick()', endpoint);
      if (typeof outcome !== 'object' || outcome === null || typeof outcome.ok !== 'boolean')
        throw new InvalidArgumentError('report outcome', '{ ok: boolean, latencyMs: number }', outcome);
      if (
        typeof outcome.latencyMs !== 'number' ||
        !(outcome.latencyMs >= 0) ||
        !Number.isFinite(outcome.latencyMs)
      )
        throw new InvalidArgumentError('report outcome.latencyMs', 'a finite number >= 0', outcome.latencyMs);
      // A NaN, null or 0 (XHR's network error) status would silently turn a failure into a success for
      // outlier detection and peak-EWMA: only a three-digit code is a status (RFC 9110 §15).
      if (
        outcome.status !== undefined &&
        !(outcome.status > 99 && outcome.status < 1e3 && Number.isInteger(outcome.status))
      )
        throw new InvalidArgumentError(
          'report outcome.status',
          'an HTTP status code (100-999) or undefined',
          outcome.status,
        );
      get(endpoint.service).report(endpoint, outcome);
    },
    inspect: (name) => get(name).inspect(),
    endpoints: (name) => get(name).list.map((s) => s.endpoint),
    services: () => names.slice(),
    async ready(name, options) {
      if (name !== undefined) return get(name).ready(options?.signal);
      await Promise.all([...services.values()].map((s) => s.ready(options?.signal)));
    },
    async refresh(name) {
      await get(name).refresh();
    },
    subscribe: (name, listener) => get(name).subscribe(listener),
    close,
  };
}

/** The service options set in `options`; one set to `undefined` is left out, so it falls back as if not given. */
function stripUndefined(options: ServiceOptions): ServiceOptions {
  const out: Record<string, unknown> = {};
  for (const key of [
    'balancer',
    'healthCheck',
    'outlierDetection',
    'panicThreshold',
    'maxEndpoints',
  ] as const)
    if ((options as Record<string, unknown>)[key] !== undefined)
      out[key] = (options as Record<string, unknown>)[key];
  return out as ServiceOptions;
}
