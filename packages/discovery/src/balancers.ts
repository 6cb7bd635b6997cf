/**
 * Load-balancing policies: round-robin, random, weighted (RFC 2782), power-of-two-choices least-loaded,
 * and power-of-two-choices peak-EWMA (Finagle's, with an error penalty so a fast-failing host does not
 * look fast). A balancer only chooses among the candidates the registry hands it (healthy, not ejected,
 * lowest priority tier); it never allocates on `pick`.
 */
import { InvalidArgumentError } from '@integ/core';
import type { Endpoint } from './endpoint.js';
import { isServerFailure } from './outlier.js';

/** Per-endpoint load the registry keeps and balancers read (and peak-EWMA writes). */
export interface EndpointLoad {
  readonly endpoint: Endpoint;
  /** Requests picked and not yet reported. */
  inflight: number;
  /** Peak-EWMA latency estimate in ms (0 until measured). */
  ewma: number;
  /** When `ewma` was last updated (the registry's time in ms, see {@link Balancer.pick}). */
  ewmaStamp: number;
}

/** The outcome of one call, as given to `registry.report()`. */
export interface CallOutcome {
  /** Whether the call succeeded. */
  readonly ok: boolean;
  /** How long it took, in ms. */
  readonly latencyMs: number;
  /**
   * HTTP status (100-999), when there was a response; `>= 500` counts toward outlier detection's consecutive
   * 5xx. Leave it out on a network error (not XHR's `0`): `ok: false` then counts as a server failure.
   */
  readonly status?: number;
}

/** A load-balancing policy. */
export interface Balancer {
  /** `round-robin`, `random`, `weighted`, `least-loaded`, `peak-ewma` or your own. */
  readonly name: string;
  /**
   * Chooses one of `candidates` (never empty). `random` returns [0, 1); `now` is the registry's time in ms:
   * the clock's readings, except that a step back of the clock (NTP, a resumed VM) is added to every later
   * one, so it never decreases and durations on it are elapsed time.
   */
  pick(candidates: readonly EndpointLoad[], random: () => number, now: number): EndpointLoad;
  /** Learns from a finished call (optional). */
  observe?(load: EndpointLoad, outcome: CallOutcome, now: number): void;
}

/** Balancer names accepted by the `balancer` option. */
export type BalancerName = 'round-robin' | 'random' | 'weighted' | 'least-loaded' | 'peak-ewma';

/**
 * Cycles through the candidates in order, one rotation per service (so one instance can serve a whole
 * registry). Ignores weights.
 *
 * @example
 * ```ts
 * createRegistry({ services: { api: { urls: [a, b] } }, balancer: roundRobin() });
 * ```
 */
export function roundRobin(): Balancer {
  // One cursor per service: one instance given as the registry's balancer serves every service, and a
  // shared cursor gave each of two services taking turns the same endpoint every time.
  const next = new Map<string, number>();
  return {
    name: 'round-robin',
    pick(candidates) {
      const service = (candidates[0] as EndpointLoad).endpoint.service;
      let i = next.get(service) ?? 0;
      if (i >= candidates.length) i = 0;
      next.set(service, i + 1);
      return candidates[i] as EndpointLoad;
    },
  };
}

/**
 * Picks uniformly at random. Ignores weights.
 *
 * @example
 * ```ts
 * createRegistry({ services, balancer: random() });
 * ```
 */
export function random(): Balancer {
  return {
    name: 'random',
    pick(candidates, rnd) {
      return candidates[Math.floor(rnd() * candidates.length)] ?? (candidates[0] as EndpointLoad);
    },
  };
}

/**
 * Picks at random in proportion to `endpoint.weight` (RFC 2782 selection within a priority tier).
 * A weight-0 endpoint has a very small chance beside weighted ones (1e-5 of the largest weight, as RFC
 * 2782 asks); when every candidate has weight 0, they are chosen uniformly.
 *
 * @example
 * ```ts
 * createRegistry({ services: { api: dnsSrv('_api._tcp.example.com') }, balancer: weighted() });
 * ```
 */
export function weighted(): Balancer {
  return {
    name: 'weighted',
    pick(candidates, rnd) {
      let max = 0;
      for (const c of candidates) max = Math.max(max, c.endpoint.weight);
      let total = 0;
      for (const c of candidates) total += share(c, max);
      let target = rnd() * total;
      for (const c of candidates) {
        const w = share(c, max);
        if (target < w) return c;
        target -= w;
      }
      // Rounding can leave target at ~0.
      return candidates[candidates.length - 1] as EndpointLoad;
    },
  };
}

/**
 * A candidate's weight as a share of the largest, `max`: raw weights can sum past Number.MAX_VALUE (two
 * of 1e308), and an infinite total sent every pick to the last endpoint. Weight 0 is 1e-5 of the largest,
 * as RFC 2782 asks ("records with weight 0 should have a very small chance of being selected"); when all
 * are 0 (or none is a number > 0), every candidate counts the same.
 */
function share(load: EndpointLoad, max: number): number {
  return max > 0 ? load.endpoint.weight / max || 1e-5 : 1;
}

/** Two distinct random indices' candidates (or the only one). */
function twoChoices(
  candidates: readonly EndpointLoad[],
  rnd: () => number,
  better: (a: EndpointLoad, b: EndpointLoad) => boolean,
): EndpointLoad {
  const n = candidates.length;
  if (n === 1) return candidates[0] as EndpointLoad;
  const i = Math.min(n - 1, Math.floor(rnd() * n));
  let j = Math.min(n - 2, Math.floor(rnd() * (n - 1)));
  if (j >= i) j++;
  const a = candidates[i] as EndpointLoad;
  const b = candidates[j] as EndpointLoad;
  return better(b, a) ? b : a;
}

/**
 * Power of two choices, least loaded: samples two candidates and takes the one with fewer requests
 * in flight (picked by `pick()`, not yet `report()`ed). Ignores weights.
 *
 * @example
 * ```ts
 * createRegistry({ services, balancer: p2cLeastLoaded() });
 * ```
 */
export function p2cLeastLoaded(): Balancer {
  const better = (a: EndpointLoad, b: EndpointLoad): boolean => a.inflight < b.inflight;
  return {
    name: 'least-loaded',
    pick: (candidates, rnd) => twoChoices(candidates, rnd, better),
  };
}

/** Options of {@link p2cPeakEwma}. */
export interface PeakEwmaOptions {
  /**
   * Time constant of the moving average in ms: how fast old latencies (and a latency peak) are forgotten,
   * and how fast an idle endpoint's cost decays so it is probed again. Finagle uses 10 s; 1 s recovers
   * from client-side stalls (GC, a busy event loop) that inflate every host's latency at once. @default 1000
   */
  readonly decayMs?: number;
  /**
   * Latency charged for a server failure (`status >= 500`, or `ok: false` without a status), in ms, when
   * the call itself was faster: a host that fails in 1 ms must not look like the fastest host. A 4xx is
   * the caller's fault and counts its real latency. @default 1000
   */
  readonly errorPenaltyMs?: number;
}

// Finagle's penalty for an endpoint with requests in flight and no latency yet: it is not chosen
// again until it has answered once.
const UNMEASURED_PENALTY = 2 ** 47;

/**
 * Power of two choices with Finagle's peak-EWMA load: cost = latency EWMA x (in-flight + 1), where the
 * EWMA jumps to any higher latency at once (peak) and decays toward newer, lower ones with `decayMs`,
 * and toward 0 while idle so shunned hosts get probed again. Server failures count as at least
 * `errorPenaltyMs`. Ignores weights.
 *
 * @throws InvalidArgumentError for a non-positive `decayMs` or negative `errorPenaltyMs`
 * @example
 * ```ts
 * createRegistry({ services, balancer: p2cPeakEwma({ decayMs: 1000, errorPenaltyMs: 1000 }) });
 * ```
 */
export function p2cPeakEwma(options: PeakEwmaOptions = {}): Balancer {
  const decayMs = options.decayMs ?? 1000;
  const errorPenaltyMs = options.errorPenaltyMs ?? 1000;
  if (!(decayMs > 0) || !Number.isFinite(decayMs))
    throw new InvalidArgumentError('decayMs', 'a finite number > 0', decayMs);
  if (!(errorPenaltyMs >= 0) || !Number.isFinite(errorPenaltyMs))
    throw new InvalidArgumentError('errorPenaltyMs', 'a finite number >= 0', errorPenaltyMs);
  let now = 0;
  const cost = (load: EndpointLoad): number => {
    const elapsed = now - load.ewmaStamp;
    // A measured estimate decays to 5e-324 (the least double), not 0: exp() underflows after ~12 min idle
    // (decay 1 s), and a host with a request in flight then read as never measured, shunned till it answered.
    const ewma =
      elapsed > 0 ? Math.max(load.ewma * Math.exp(-elapsed / decayMs), load.ewma && 5e-324) : load.ewma;
    if (ewma === 0 && load.inflight > 0) return UNMEASURED_PENALTY + load.inflight;
    return ewma * (load.inflight + 1);
  };
  const better = (a: EndpointLoad, b: EndpointLoad): boolean => cost(a) < cost(b);
  return {
    name: 'peak-ewma',
    pick(candidates, rnd, time) {
      now = time;
      return twoChoices(candidates, rnd, better);
    },
    observe(load, outcome, time) {
      // Only a server failure is the host's fault (as for outlier detection): a fast 404 is a fast host.
      // At least 1 µs: a measured 0 ms (a sub-ms call timed with Date.now()) must not read as "never
      // measured" (ewma 0), which keeps a host from a second request until the first answers.
      const rtt = Math.max(
        isServerFailure(outcome) ? Math.max(outcome.latencyMs, errorPenaltyMs) : outcome.latencyMs,
        0.001,
      );
      // Finagle: a higher latency replaces the estimate at once (peak); a lower one is blended in
      // with a weight that grows with the time since the last observation.
      if (rtt >= load.ewma) load.ewma = rtt;
      else {
        const w = Math.exp(-Math.max(0, time - load.ewmaStamp) / decayMs);
        load.ewma = load.ewma * w + rtt * (1 - w);
      }
      load.ewmaStamp = time;
    },
  };
}

/**
 * A balancer from its name (`round-robin`, `random`, `weighted`, `least-loaded`, `peak-ewma`).
 *
 * @throws InvalidArgumentError for an unknown name
 * @example
 * ```ts
 * const balancer = balancerFor('peak-ewma');
 * ```
 */
export function balancerFor(name: BalancerName | Balancer): Balancer {
  if (typeof name === 'object' && name !== null && typeof name.pick === 'function') return name;
  switch (name) {
    case 'round-robin':
      return roundRobin();
    case 'random':
      return random();
    case 'weighted':
      return weighted();
    case 'least-loaded':
      return p2cLeastLoaded();
    case 'peak-ewma':
      return p2cPeakEwma();
    default:
      throw new InvalidArgumentError(
        'balancer',
        "'round-robin' | 'random' | 'weighted' | 'least-loaded' | 'peak-ewma' or a Balancer",
        name,
      );
  }
}
