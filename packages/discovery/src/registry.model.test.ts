/**
 * Randomized model test of `createRegistry`: fast-check command sequences drive a real registry (a static
 * source or a hand-driven one whose answers change, fail and carry TTLs; active health checks; outlier
 * detection; every built-in balancer) on a fake clock with a seeded random, and a small reference model
 * written from the README and decisions 0050-0052 side by side. After every step the registry's
 * `inspect()`, `endpoints()`, subscriptions, pending timers and `ready()` must match the model, and every
 * `pick()`/`url()` must return what the README allows. Decision 0055 lists what it found.
 *
 * The model's rules (README sections in brackets):
 * - Candidates [createRegistry]: endpoints passing health checks and not ejected; of those the lowest
 *   `priority` tier in which at least `panicThreshold`% are healthy (tiers tried lowest first); when no
 *   tier qualifies, every endpoint of the first tier with a healthy one, else of the lowest tier (panic).
 *   Nothing to pick: `NoEndpointsError` with reason `pending` (no answer yet), `empty`
 *   (answered with nothing) or `unhealthy` (nothing healthy, `panicThreshold: 0`).
 * - Balancers [Balancers]: round-robin in order (two picks over the same candidate list are neighbours);
 *   weighted gives a weight-0 endpoint 1e-5 of the largest weight (RFC 2782's "very small chance"; checked
 *   statistically below, not per pick); P2C (least-loaded, peak-EWMA) compares
 *   two distinct candidates, so its pick is never the single worst one. Peak-EWMA cost is
 *   `ewma x (inflight + 1)`; the EWMA jumps up at once, blends lower values in with weight
 *   `1 - exp(-dt / decayMs)` and decays while idle; a server failure counts as at least `errorPenaltyMs`,
 *   any call as at least 1 µs.
 *   Proportions (weighted, random, round-robin) are checked statistically in their own properties.
 * - `pick()` counts in flight until `report()`; `url()` does not [Registry]. A report of an endpoint that
 *   left is ignored; per-endpoint state (load, health, ejection) is dropped when it leaves.
 * - Outlier detection [OutlierDetectionOptions, 0051]: a server failure is `status >= 500` or `ok: false`
 *   without a status; `consecutive5xx` in a row eject at once; success-rate and failure-percentage run on
 *   each `interval` sweep (A50 steps 1-5; success rate over the endpoints not ejected, as Envoy); the n-th ejection lasts `min(base x n, max(base, max))`, ends
 *   on the first sweep at or after that, and n drops by one per sweep in service; never more than
 *   `maxEjectionPercent` ejected, but one always may be.
 * - Health [HealthCheckOptions]: new endpoints start healthy and are checked at once, then every
 *   `interval` (jitter 0 here); `unhealthyThreshold` failures (false, a throw or a timeout) in a row mark
 *   unhealthy, `healthyThreshold` successes bring back.
 * - Sources [Source, FAQ]: the next lookup starts `max(min(ttlMs ?? refreshInterval, maxInterval),
 *   minInterval)` after the last (jitter 0); a failure keeps the last endpoints (`stale`) and retries with
 *   exponential backoff from `minInterval` (at least 1 ms) to `refreshInterval`; invalid URLs in an answer
 *   are skipped, and an answer with nothing else fails; `refresh()` looks up at once and the next background lookup counts from it (the one
 *   scheduled is moved); subscribers hear of each change. Endpoints never expire
 *   while the source fails (no TTL expiry: the README serves stale data).
 * - Bad input: `UnknownServiceError` listing the known names, `InvalidArgumentError` naming the argument,
 *   no secret in any message, no state change.
 */
import { InvalidArgumentError, isIntegError } from '@integ/core';
import {
  type BalancerName,
  createRegistry,
  type Endpoint,
  type EndpointInspection,
  type HealthCheck,
  InvalidUrlError,
  NoEndpointsError,
  type Registry,
  type RegistryOptions,
  type Source,
  staticSource,
  UnknownServiceError,
} from '@integ/discovery';
import { createFakeClock, type FakeClock, seededRandom } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const POOL = Array.from({ length: 6 }, (_, i) => `http://10.0.0.${i + 1}:80`);
const BAD_URL = 'not a url';
const DECAY_MS = 1000; // p2cPeakEwma defaults, used by balancer: 'peak-ewma'
const ERROR_PENALTY_MS = 1000;

// ---------------------------------------------------------------------------------------------------
// Configurations and commands

interface Init {
  readonly url: string;
  readonly weight: number;
  readonly priority: number;
}

interface OutlierCfg {
  readonly interval: number;
  readonly baseEjectionTime: number;
  readonly maxEjectionTime: number;
  readonly maxEjectionPercent: number;
  readonly consecutive5xx: number | false;
  readonly successRate:
    | false
    | { stdevFactor: number; enforcementPercentage: number; minimumHosts: number; requestVolume: number };
  readonly failurePercentage:
    | false
    | { threshold: number; enforcementPercentage: number; minimumHosts: number; requestVolume: number };
}

interface HealthCfg {
  readonly interval: number;
  readonly timeout: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

interface Cfg {
  readonly balancer: BalancerName;
  readonly panicThreshold: number;
  readonly dynamic: boolean;
  readonly refreshInterval: number;
  readonly minInterval: number;
  readonly maxInterval: number;
  readonly outlier: OutlierCfg | false;
  readonly health: HealthCfg | false;
  readonly initial: readonly Init[];
  readonly initialFail: boolean;
  readonly ttl: number | undefined;
  readonly seed: number;
}

type Outcome = { ok: boolean; latencyMs: number; status?: number };
type CheckMode = 'up' | 'down' | 'throw' | 'hang';

type Cmd =
  | { readonly t: 'advance'; readonly ms: number }
  | { readonly t: 'pick' }
  | { readonly t: 'url' }
  | {
      readonly t: 'report';
      readonly from: 'picked' | 'known';
      readonly which: number;
      readonly outcome: Outcome;
      readonly times: number;
    }
  | { readonly t: 'traffic'; readonly outcomes: readonly Outcome[]; readonly times: number }
  | { readonly t: 'check'; readonly url: string; readonly mode: CheckMode }
  | { readonly t: 'put'; readonly init: Init }
  | { readonly t: 'remove'; readonly url: string }
  | { readonly t: 'ttl'; readonly ttl: number | undefined }
  | { readonly t: 'fail'; readonly fail: boolean }
  | { readonly t: 'junk'; readonly junk: boolean }
  | { readonly t: 'refresh' }
  | { readonly t: 'bad'; readonly kind: number };

const initArb: fc.Arbitrary<Init> = fc.record({
  url: fc.constantFrom(...POOL),
  weight: fc.constantFrom(0, 1, 1, 2, 3, 0.5),
  priority: fc.constantFrom(0, 0, 0, 1, 2),
});

const outlierArb: fc.Arbitrary<OutlierCfg> = fc.record({
  interval: fc.integer({ min: 40, max: 1200 }),
  baseEjectionTime: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1500 })),
  maxEjectionTime: fc.integer({ min: 0, max: 4000 }),
  maxEjectionPercent: fc.oneof(fc.constantFrom(0, 10, 50, 100), fc.integer({ min: 0, max: 100 })),
  consecutive5xx: fc.oneof(fc.constant(false as const), fc.integer({ min: 1, max: 4 })),
  successRate: fc.oneof(
    fc.constant(false as const),
    fc.record({
      stdevFactor: fc.constantFrom(0, 500, 1000, 1900),
      enforcementPercentage: fc.constantFrom(0, 100),
      minimumHosts: fc.integer({ min: 0, max: 4 }),
      requestVolume: fc.integer({ min: 0, max: 5 }),
    }),
  ),
  failurePercentage: fc.oneof(
    fc.constant(false as const),
    fc.record({
      threshold: fc.constantFrom(0, 50, 85, 100),
      enforcementPercentage: fc.constantFrom(0, 100),
      minimumHosts: fc.integer({ min: 0, max: 4 }),
      requestVolume: fc.integer({ min: 0, max: 5 }),
    }),
  ),
});

const healthArb: fc.Arbitrary<HealthCfg> = fc.record({
  interval: fc.integer({ min: 30, max: 1000 }),
  timeout: fc.integer({ min: 1, max: 400 }),
  healthyThreshold: fc.integer({ min: 1, max: 3 }),
  unhealthyThreshold: fc.integer({ min: 1, max: 3 }),
});

const ttlArb = fc.option(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2500 })), { nil: undefined });

const cfgArb: fc.Arbitrary<Cfg> = fc
  .record({
    balancer: fc.constantFrom<BalancerName>('round-robin', 'random', 'weighted', 'least-loaded', 'peak-ewma'),
    panicThreshold: fc.oneof(fc.constantFrom(0, 50, 100), fc.integer({ min: 0, max: 100 })),
    dynamic: fc.boolean(),
    refreshInterval: fc.integer({ min: 50, max: 3000 }),
    minInterval: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 400 })),
    maxInterval: fc.integer({ min: 50, max: 4000 }),
    outlier: fc.oneof(
      { weight: 1, arbitrary: fc.constant(false as const) },
      { weight: 4, arbitrary: outlierArb },
    ),
    health: fc.oneof(
      { weight: 1, arbitrary: fc.constant(false as const) },
      { weight: 2, arbitrary: healthArb },
    ),
    initial: fc.array(initArb, { minLength: 1, maxLength: 6 }),
    initialFail: fc.boolean(),
    ttl: ttlArb,
    seed: fc.integer(),
  })
  .map((c) => ({ ...c, initialFail: c.dynamic && c.initialFail && c.seed % 4 === 0 }));

const outcomeArb: fc.Arbitrary<Outcome> = fc
  .tuple(
    fc.constantFrom<Omit<Outcome, 'latencyMs'>>(
      { ok: true, status: 200 },
      { ok: true, status: 200 },
      { ok: true },
      { ok: false, status: 503 },
      { ok: false, status: 500 },
      { ok: false },
      { ok: false, status: 404 },
      { ok: false, status: 429 },
    ),
    fc.oneof(
      fc.integer({ min: 0, max: 50 }),
      fc.integer({ min: 0, max: 3000 }),
      fc.double({ min: 0, max: 10, noNaN: true }),
    ),
  )
  .map(([o, latencyMs]) => ({ ...o, latencyMs }));

const BAD_KINDS = 16;

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant('advance' as const),
      ms: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1500 })),
    }),
  },
  { weight: 10, arbitrary: fc.constant({ t: 'pick' as const }) },
  { weight: 5, arbitrary: fc.constant({ t: 'url' as const }) },
  {
    weight: 10,
    arbitrary: fc.record({
      t: fc.constant('report' as const),
      from: fc.constantFrom('picked' as const, 'picked' as const, 'known' as const),
      which: fc.nat(),
      outcome: outcomeArb,
      times: fc.integer({ min: 1, max: 6 }),
    }),
  },
  {
    // Calls to every known endpoint, endpoint i getting outcomes[i % length]: volume for the sweeps.
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('traffic' as const),
      outcomes: fc.array(outcomeArb, { minLength: 1, maxLength: 4 }),
      times: fc.integer({ min: 1, max: 8 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('check' as const),
      url: fc.constantFrom(...POOL),
      mode: fc.constantFrom<CheckMode>('up', 'down', 'down', 'throw', 'hang'),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('put' as const), init: initArb }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('remove' as const), url: fc.constantFrom(...POOL) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('ttl' as const), ttl: ttlArb }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('fail' as const), fail: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('junk' as const), junk: fc.boolean() }) },
  { weight: 2, arbitrary: fc.constant({ t: 'refresh' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('bad' as const), kind: fc.nat({ max: BAD_KINDS - 1 }) }),
  },
);

// ---------------------------------------------------------------------------------------------------
// The reference model

interface MEndpoint {
  url: string;
  weight: number;
  priority: number;
  inflight: number;
  ewma: number;
  stamp: number;
  // outlier detection (A50 call counter, Envoy consecutive 5xx)
  successes: number;
  failures: number;
  lastSuccesses: number;
  lastFailures: number;
  consecutive: number;
  ejectedAt: number | null;
  ejectedUntil: number | null;
  multiplier: number;
  ejections: number;
  reason: string | null;
  // active health
  healthy: boolean;
  checked: boolean;
  okInRow: number;
  failInRow: number;
}

interface MEvent {
  readonly at: number;
  readonly seq: number;
  readonly kind: 'sweep' | 'lookup' | 'check' | 'checkDone';
  readonly url?: string;
}

interface Script {
  endpoints: Init[];
  ttl: number | undefined;
  fail: boolean;
  junk: boolean;
}

const isServerFailure = (o: Outcome): boolean => (o.status !== undefined ? o.status >= 500 : !o.ok);

class Model {
  now = 0;
  private seq = 0;
  events: MEvent[] = [];
  list: MEndpoint[] = [];
  status: 'pending' | 'ready' | 'failed' = 'pending';
  errors = 0;
  notifications = 0;
  readonly checks = new Map<string, CheckMode>();
  readonly seen = new Set<string>();

  constructor(
    readonly cfg: Cfg,
    readonly script: Script,
  ) {}

  start(): void {
    // A static source is applied at once; a dynamic one's first lookup starts, the sweep timer is set,
    // then its answer arrives (so, in a tie, the sweep fires before the next lookup).
    if (!this.cfg.dynamic) {
      this.apply(this.script.endpoints, false);
      this.status = 'ready';
      if (this.cfg.outlier) this.schedule(this.cfg.outlier.interval, 'sweep');
      return;
    }
    if (this.cfg.outlier) this.schedule(this.cfg.outlier.interval, 'sweep');
    this.lookup();
  }

  private schedule(delay: number, kind: MEvent['kind'], url?: string): void {
    this.events.push({ at: this.now + delay, seq: this.seq++, kind, ...(url === undefined ? {} : { url }) });
  }

  find(url: string): MEndpoint | undefined {
    return this.list.find((e) => e.url === url);
  }

  /** Moves time forward, running due events in time order (ties in the order they were scheduled). */
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      let next: MEvent | undefined;
      for (const e of this.events)
        if (e.at <= until && (next === undefined || e.at < next.at || (e.at === next.at && e.seq < next.seq)))
          next = e;
      if (next === undefined) break;
      this.events.splice(this.events.indexOf(next), 1);
      this.now = Math.max(this.now, next.at);
      this.seen.add(next.kind);
      if (next.kind === 'sweep') this.sweep();
      else if (next.kind === 'lookup') this.lookup();
      else if (next.kind === 'check') this.check(next.url as string);
      else this.checkResult(next.url as string, false);
    }
    this.now = until;
  }

  /** `refresh()`: a lookup now, from which the background loop's next one counts (the one due is moved). */
  refresh(): boolean {
    this.events = this.events.filter((e) => e.kind !== 'lookup');
    return this.lookup();
  }

  /** One lookup of the hand-driven source; it schedules the background loop's next one. */
  lookup(): boolean {
    const { refreshInterval, minInterval, maxInterval } = this.cfg;
    // An answer of nothing but invalid URLs fails as a lookup does (the last endpoints kept).
    const junkOnly = this.script.junk && this.script.endpoints.length === 0;
    if (junkOnly && !this.script.fail) this.seen.add('invalid-only answer fails');
    if (this.script.fail || junkOnly) {
      this.errors++;
      if (this.status !== 'ready') this.status = 'failed';
      const backoff = Math.min(
        Math.max(refreshInterval, minInterval),
        Math.max(minInterval, 1) * 2 ** Math.min(this.errors - 1, 20),
      );
      this.schedule(Math.max(backoff, minInterval), 'lookup');
      return false;
    }
    const answer = this.script.junk
      ? [{ url: BAD_URL, weight: 1, priority: 0 }, ...this.script.endpoints]
      : this.script.endpoints;
    this.apply(answer, true);
    this.errors = 0;
    this.status = 'ready';
    this.schedule(Math.max(Math.min(this.script.ttl ?? refreshInterval, maxInterval), minInterval), 'lookup');
    return true;
  }

  private apply(inits: readonly Init[], notify: boolean): void {
    const seen = new Set<string>();
    let changed = false;
    for (const init of inits) {
      if (init.url === BAD_URL || seen.has(init.url)) continue;
      seen.add(init.url);
      const existing = this.find(init.url);
      if (existing === undefined) {
        this.list.push({
          url: init.url,
          weight: init.weight,
          priority: init.priority,
          inflight: 0,
          ewma: 0,
          stamp: this.now,
          successes: 0,
          failures: 0,
          lastSuccesses: 0,
          lastFailures: 0,
          consecutive: 0,
          ejectedAt: null,
          ejectedUntil: null,
          multiplier: 0,
          ejections: 0,
          reason: null,
          healthy: true,
          checked: false,
          okInRow: 0,
          failInRow: 0,
        });
        changed = true;
        if (this.cfg.health) this.schedule(0, 'check', init.url);
      } else if (existing.weight !== init.weight || existing.priority !== init.priority) {
        existing.weight = init.weight;
        existing.priority = init.priority;
        changed = true;
      }
    }
    if (this.list.some((e) => !seen.has(e.url))) {
      changed = true;
      this.list = this.list.filter((e) => seen.has(e.url));
      this.events = this.events.filter((e) => e.url === undefined || seen.has(e.url));
    }
    if (changed && notify) this.notifications++;
  }

  // --- health -----------------------------------------------------------------------------------

  private check(url: string): void {
    const health = this.cfg.health as HealthCfg;
    const mode = this.checks.get(url) ?? 'up';
    if (mode === 'hang') this.schedule(health.timeout, 'checkDone', url);
    else this.checkResult(url, mode === 'up');
  }

  private checkResult(url: string, ok: boolean): void {
    const health = this.cfg.health as HealthCfg;
    const e = this.find(url);
    if (e === undefined) return;
    e.checked = true;
    if (ok) {
      e.okInRow++;
      e.failInRow = 0;
      if (!e.healthy && e.okInRow >= health.healthyThreshold) e.healthy = true;
    } else {
      e.failInRow++;
      e.okInRow = 0;
      if (e.healthy && e.failInRow >= health.unhealthyThreshold) e.healthy = false;
    }
    this.schedule(health.interval, 'check', url);
  }

  // --- outlier detection --------------------------------------------------------------------------

  private tryEject(e: MEndpoint, reason: string): void {
    const o = this.cfg.outlier as OutlierCfg;
    const ejected = this.list.filter((x) => x.ejectedAt !== null).length;
    if (!(ejected === 0 || (100 * (ejected + 1)) / this.list.length <= o.maxEjectionPercent)) return;
    e.multiplier++;
    e.ejections++;
    e.ejectedAt = this.now;
    e.ejectedUntil =
      this.now + Math.min(o.baseEjectionTime * e.multiplier, Math.max(o.baseEjectionTime, o.maxEjectionTime));
    e.reason = reason;
    e.consecutive = 0;
    this.seen.add(`ejected:${reason}`);
  }

  private sweep(): void {
    const o = this.cfg.outlier as OutlierCfg;
    for (const e of this.list) {
      e.lastSuccesses = e.successes;
      e.lastFailures = e.failures;
      e.successes = 0;
      e.failures = 0;
    }
    const volume = (e: MEndpoint): number => e.lastSuccesses + e.lastFailures;
    const sr = o.successRate;
    if (sr) {
      const eligible = this.list.filter(
        (e) => e.ejectedAt === null && volume(e) >= Math.max(1, sr.requestVolume),
      );
      if (eligible.length > 0 && eligible.length >= sr.minimumHosts) {
        const rates = eligible.map((e) => e.lastSuccesses / volume(e));
        const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
        const stdev = Math.sqrt(rates.reduce((a, b) => a + (b - mean) ** 2, 0) / rates.length);
        eligible.forEach((e, i) => {
          if (sr.enforcementPercentage < 100) return;
          if ((rates[i] as number) < mean - stdev * (sr.stdevFactor / 1000)) this.tryEject(e, 'success-rate');
        });
      }
    }
    const fp = o.failurePercentage;
    if (fp && fp.enforcementPercentage === 100 && this.list.length >= fp.minimumHosts)
      for (const e of this.list) {
        if (e.ejectedAt !== null || volume(e) === 0 || volume(e) < fp.requestVolume) continue;
        if ((100 * e.lastFailures) / volume(e) >= fp.threshold) this.tryEject(e, 'failure-percentage');
      }
    for (const e of this.list) {
      if (e.ejectedAt === null) {
        if (e.multiplier > 0) e.multiplier--;
      } else if (this.now >= (e.ejectedUntil as number)) {
        e.ejectedAt = null;
        e.ejectedUntil = null;
        e.reason = null;
        e.consecutive = 0;
        this.seen.add('readmitted');
      }
    }
    this.schedule(o.interval, 'sweep');
  }

  report(url: string, outcome: Outcome): void {
    const e = this.find(url);
    if (e === undefined) return;
    if (e.inflight > 0) e.inflight--;
    if (this.cfg.balancer === 'peak-ewma') {
      const rtt = Math.max(
        isServerFailure(outcome) ? Math.max(outcome.latencyMs, ERROR_PENALTY_MS) : outcome.latencyMs,
        0.001, // a measured 0 ms counts as 1 µs, so it does not read as "never measured"
      );
      if (rtt >= e.ewma) e.ewma = rtt;
      else {
        const w = Math.exp(-Math.max(0, this.now - e.stamp) / DECAY_MS);
        e.ewma = e.ewma * w + rtt * (1 - w);
      }
      e.stamp = this.now;
    }
    const o = this.cfg.outlier;
    if (!o) return;
    if (isServerFailure(outcome)) {
      e.failures++;
      e.consecutive++;
      if (o.consecutive5xx !== false && e.ejectedAt === null && e.consecutive >= o.consecutive5xx)
        this.tryEject(e, 'consecutive-5xx');
    } else {
      e.successes++;
      e.consecutive = 0;
    }
  }

  // --- picking ------------------------------------------------------------------------------------

  healthyOf(e: MEndpoint): boolean {
    return e.healthy && e.ejectedAt === null;
  }

  /** Tiers lowest priority first: the first with at least panicThreshold% healthy serves its healthy. */
  private choice(): { panic: boolean; pool: MEndpoint[] } {
    const priorities = [...new Set(this.list.map((e) => e.priority))].sort((a, b) => a - b);
    const tiers = priorities.map((p) => this.list.filter((e) => e.priority === p));
    for (const tier of tiers) {
      const healthy = tier.filter((e) => this.healthyOf(e));
      if (healthy.length > 0 && healthy.length * 100 >= this.cfg.panicThreshold * tier.length)
        return { panic: false, pool: healthy };
    }
    if (tiers.length === 0 || this.cfg.panicThreshold === 0) return { panic: false, pool: [] };
    // Panic: the first tier that still has a healthy endpoint, else the lowest.
    const tier = tiers.find((t) => t.some((e) => this.healthyOf(e))) ?? (tiers[0] as MEndpoint[]);
    return { panic: true, pool: tier };
  }

  panic(): boolean {
    return this.choice().panic;
  }

  candidates(): MEndpoint[] {
    return this.choice().pool;
  }

  noEndpointsReason(): 'pending' | 'empty' | 'unhealthy' {
    return this.list.length > 0 ? 'unhealthy' : this.status === 'ready' ? 'empty' : 'pending';
  }

  cost(e: MEndpoint): number {
    const elapsed = this.now - e.stamp;
    const ewma = elapsed > 0 ? e.ewma * Math.exp(-elapsed / DECAY_MS) : e.ewma;
    if (ewma === 0 && e.inflight > 0) return 2 ** 47 + e.inflight;
    return ewma * (e.inflight + 1);
  }

  inspectState(): 'pending' | 'ready' | 'stale' | 'failed' {
    if (this.status !== 'ready') return this.status;
    return this.errors > 0 ? 'stale' : 'ready';
  }
}

// ---------------------------------------------------------------------------------------------------
// The harness

interface World {
  readonly cfg: Cfg;
  readonly clock: FakeClock;
  readonly registry: Registry;
  readonly model: Model;
  readonly script: Script;
  readonly picked: Endpoint[];
  readonly heard: { count: number; last: readonly Endpoint[] };
  rr: { key: string; url: string } | null;
}

/** Rules the runs must have exercised, so a generator change cannot quietly make the test vacuous. */
const exercised = new Set<string>();

function handSource(script: Script, clock: FakeClock): Source {
  return {
    kind: 'hand',
    description: 'hand-driven test source',
    open: () => ({
      // Reads the script when the lookup starts, as a real resolver sends its query then.
      async resolve() {
        if (script.fail) throw new Error(`lookup failed at ${clock.now()}`);
        const endpoints = script.endpoints.map((e) => ({ ...e }));
        if (script.junk) endpoints.unshift({ url: BAD_URL, weight: 1, priority: 0 });
        return script.ttl === undefined ? { endpoints } : { endpoints, ttlMs: script.ttl };
      },
    }),
  };
}

// ttlMs 0 with minInterval 0 asks again at once, forever, by definition: the model never combines them.
const safeTtl = (cfg: Cfg, ttl: number | undefined): number | undefined =>
  cfg.minInterval === 0 && ttl === 0 ? undefined : ttl;

function build(cfg: Cfg): World {
  const clock = createFakeClock();
  const script: Script = {
    endpoints: [...cfg.initial],
    ttl: safeTtl(cfg, cfg.ttl),
    fail: cfg.initialFail,
    junk: false,
  };
  const model = new Model(cfg, script);
  const check: HealthCheck = (endpoint) => {
    const mode = model.checks.get(endpoint.url) ?? 'up';
    if (mode === 'hang') return new Promise(() => {});
    if (mode === 'throw') return Promise.reject(new Error('connect ECONNREFUSED'));
    return Promise.resolve(mode === 'up');
  };
  const o = cfg.outlier;
  const options: RegistryOptions = {
    services: {
      // A static list refuses a URL listed twice (registry.test.ts); the model keeps the first, as for answers.
      api: cfg.dynamic
        ? handSource(script, clock)
        : staticSource(
            cfg.initial
              .filter((e, i) => cfg.initial.findIndex((f) => f.url === e.url) === i)
              .map((e) => ({ ...e })),
          ),
    },
    clock,
    random: seededRandom(cfg.seed),
    jitter: 0,
    balancer: cfg.balancer,
    panicThreshold: cfg.panicThreshold,
    refreshInterval: cfg.refreshInterval,
    minInterval: cfg.minInterval,
    maxInterval: cfg.maxInterval,
    outlierDetection:
      o === false
        ? false
        : {
            interval: o.interval,
            baseEjectionTime: o.baseEjectionTime,
            maxEjectionTime: o.maxEjectionTime,
            maxEjectionPercent: o.maxEjectionPercent,
            consecutive5xx: o.consecutive5xx,
            successRateEjection: o.successRate,
            failurePercentageEjection: o.failurePercentage,
          },
    healthCheck: cfg.health === false ? false : { ...cfg.health, check, jitter: 0 },
  };
  const registry = createRegistry(options);
  const heard = { count: 0, last: [] as readonly Endpoint[] };
  registry.subscribe('api', (endpoints) => {
    heard.count++;
    heard.last = endpoints;
  });
  model.start();
  return { cfg, clock, registry, model, script, picked: [], heard, rr: null };
}

async function compare(w: World, where: string): Promise<void> {
  const { registry, model, clock } = w;
  const view = registry.inspect('api');
  const msg = `${where} at t=${clock.now()}`;
  expect(clock.now(), msg).toBe(model.now);
  expect(view.state, msg).toBe(model.inspectState());
  exercised.add(`state:${view.state}`);
  expect(view.consecutiveErrors, msg).toBe(model.errors);
  const byUrl = new Map(view.endpoints.map((e) => [e.url, e]));
  expect([...byUrl.keys()].sort(), msg).toEqual(model.list.map((e) => e.url).sort());
  expect(
    registry
      .endpoints('api')
      .map((e) => `${e.url}@${e.weight}/${e.priority}`)
      .sort(),
    msg,
  ).toEqual(model.list.map((e) => `${e.url}@${e.weight}/${e.priority}`).sort());
  const candidates = new Set(model.candidates().map((e) => e.url));
  expect(view.panic, msg).toBe(model.panic());
  if (view.panic) exercised.add('panic');
  for (const m of model.list) {
    const e = byUrl.get(m.url) as EndpointInspection;
    const at = `${msg} ${m.url}`;
    expect(e.eligible, at).toBe(candidates.has(m.url));
    expect(e.ejected, at).toBe(m.ejectedAt !== null);
    expect(e.healthy, at).toBe(model.healthyOf(m));
    expect(e.health.status, at).toBe(
      !m.checked ? (m.healthy ? 'unchecked' : 'unhealthy') : m.healthy ? 'healthy' : 'unhealthy',
    );
    if (!m.healthy) exercised.add('unhealthy');
    expect(e.health.consecutiveSuccesses, at).toBe(m.okInRow);
    expect(e.health.consecutiveFailures, at).toBe(m.failInRow);
    expect(e.outlier, at).toEqual({
      ejected: m.ejectedAt !== null,
      reason: m.reason,
      ejectedUntil: m.ejectedUntil,
      ejections: m.ejections,
      multiplier: m.multiplier,
      consecutiveFailures: m.consecutive,
    });
    if (m.multiplier > 1) exercised.add('multiplier > 1');
    expect(e.load.inflight, at).toBe(m.inflight);
    expect(e.load.ewmaMs, at).toBeCloseTo(m.ewma, 6);
  }
  expect(view.healthyCount, msg).toBe(model.list.filter((e) => model.healthyOf(e)).length);
  // No timer outlives what it is for: one sweep, one refresh loop, one check (or its timeout) per endpoint.
  expect(clock.pendingTimers, msg).toBe(model.events.length);
  expect(w.heard.count, msg).toBe(model.notifications);
  if (model.notifications > 0)
    expect(w.heard.last.map((e) => e.url).sort(), msg).toEqual(model.list.map((e) => e.url).sort());
  if (model.status === 'ready') await expect(registry.ready('api'), msg).resolves.toBeUndefined();
  if (model.status === 'failed')
    await expect(registry.ready('api'), msg).rejects.toMatchObject({ code: 'ERR_DISCOVERY_SOURCE' });
}

function checkPick(w: World, got: unknown, track: boolean, where: string): void {
  const { model, registry } = w;
  const candidates = model.candidates();
  if (candidates.length === 0) {
    expect(got, where).toBeInstanceOf(NoEndpointsError);
    expect((got as NoEndpointsError).reason, where).toBe(model.noEndpointsReason());
    exercised.add(`none:${model.noEndpointsReason()}`);
    w.rr = null;
    return;
  }
  if (!(got && typeof got === 'object' && 'url' in got)) throw got;
  const endpoint = got as Endpoint;
  const chosen = candidates.find((c) => c.url === endpoint.url);
  expect(
    chosen,
    `${where}: picked ${endpoint.url}, candidates ${candidates.map((c) => c.url)}`,
  ).toBeDefined();
  const picked = chosen as MEndpoint;
  expect(endpoint, where).toMatchObject({ service: 'api', weight: picked.weight, priority: picked.priority });
  const others = candidates.filter((c) => c !== picked);
  switch (w.cfg.balancer) {
    case 'round-robin': {
      // In order: over the same candidate list (in the registry's order) each pick is the next one.
      const order = registry
        .inspect('api')
        .endpoints.filter((e) => e.eligible)
        .map((e) => e.url);
      const key = order.join(' ');
      if (w.rr !== null && w.rr.key === key && order.length > 1) {
        exercised.add('round-robin order');
        expect(endpoint.url, `${where}: round-robin after ${w.rr.url} in ${key}`).toBe(
          order[(order.indexOf(w.rr.url) + 1) % order.length],
        );
      }
      w.rr = order.length > 1 ? { key, url: endpoint.url } : null;
      break;
    }
    case 'least-loaded':
      if (others.length > 0)
        expect(
          Math.max(...others.map((c) => c.inflight)),
          `${where}: P2C least-loaded`,
        ).toBeGreaterThanOrEqual(picked.inflight);
      break;
    case 'peak-ewma':
      if (others.length > 0) {
        const mine = model.cost(picked);
        if (others.some((c) => model.cost(c) !== mine)) exercised.add('peak-ewma costs differ');
        expect(
          Math.max(...others.map((c) => model.cost(c))),
          `${where}: P2C peak-EWMA cost ${mine}`,
        ).toBeGreaterThanOrEqual(mine * (1 - 1e-9));
      }
      break;
    default:
      break;
  }
  if (track) picked.inflight++;
}

const secretEndpoint = { url: 'http://user:s3cret@10.0.0.1:80/?token=s3cret', weight: 1, priority: 0 };

type Expectation = [() => unknown, abstract new (...args: never[]) => Error, RegExp];

/** Bad input: the call, the error class and what its message must name. None may change any state. */
function badInput(registry: Registry, kind: number): Expectation {
  const ep = { url: POOL[0] as string, service: 'api', weight: 1, priority: 0 };
  const report = (endpoint: unknown, outcome: unknown) => () =>
    registry.report(endpoint as Endpoint, outcome as Outcome);
  const table: Expectation[] = [
    [() => registry.pick('nope'), UnknownServiceError, /"nope".*known services: api/],
    [() => registry.url('API'), UnknownServiceError, /"API".*known services: api/],
    [() => registry.inspect('nope'), UnknownServiceError, /known services: api/],
    [report(null, { ok: true, latencyMs: 1 }), InvalidArgumentError, /report endpoint/],
    [report({ url: 5, service: 'api' }, { ok: true, latencyMs: 1 }), InvalidArgumentError, /report endpoint/],
    [report(secretEndpoint, { ok: true, latencyMs: 1 }), InvalidArgumentError, /report endpoint/],
    [
      report({ ...secretEndpoint, service: 'nope' }, { ok: true, latencyMs: 1 }),
      UnknownServiceError,
      /"nope"/,
    ],
    [report(ep, { ok: 'yes', latencyMs: 1 }), InvalidArgumentError, /report outcome/],
    [report(ep, undefined), InvalidArgumentError, /report outcome/],
    [report(ep, { ok: true, latencyMs: -1 }), InvalidArgumentError, /outcome\.latencyMs/],
    [report(ep, { ok: true, latencyMs: Number.NaN }), InvalidArgumentError, /outcome\.latencyMs/],
    [
      report(ep, { ok: true, latencyMs: Number.POSITIVE_INFINITY }),
      InvalidArgumentError,
      /outcome\.latencyMs/,
    ],
    [report(ep, { ok: false, latencyMs: 1, status: Number.NaN }), InvalidArgumentError, /outcome\.status/],
    [report(ep, { ok: true, latencyMs: 1, status: '503' }), InvalidArgumentError, /outcome\.status/],
    [report(ep, { ok: false, latencyMs: 1, status: null }), InvalidArgumentError, /outcome\.status/],
    [report(ep, { ok: false, latencyMs: 1, status: 502.5 }), InvalidArgumentError, /outcome\.status/],
  ];
  return table[kind % table.length] as Expectation;
}

async function step(w: World, cmd: Cmd, i: number): Promise<void> {
  const { registry, model, clock, script } = w;
  const where = `step ${i} ${JSON.stringify(cmd)}`;
  switch (cmd.t) {
    case 'advance':
      await clock.advance(cmd.ms);
      model.advance(cmd.ms);
      break;
    case 'pick':
    case 'url': {
      let got: unknown;
      try {
        if (cmd.t === 'pick') got = registry.pick('api');
        else {
          const url = registry.url('api');
          got = registry.endpoints('api').find((e) => e.url === url) ?? { url };
        }
      } catch (error) {
        got = error;
      }
      checkPick(w, got, cmd.t === 'pick', where);
      if (cmd.t === 'pick' && !(got instanceof Error)) w.picked.push(got as Endpoint);
      break;
    }
    case 'report': {
      let endpoint: Endpoint | undefined;
      if (cmd.from === 'picked' && w.picked.length > 0)
        endpoint = w.picked.splice(cmd.which % w.picked.length, 1)[0];
      else {
        const known = registry.endpoints('api');
        endpoint = known[cmd.which % Math.max(1, known.length)];
      }
      if (endpoint === undefined) break;
      if (model.find(endpoint.url) === undefined) exercised.add('report of a departed endpoint');
      for (let k = 0; k < cmd.times; k++) {
        registry.report(endpoint, cmd.outcome);
        model.report(endpoint.url, cmd.outcome);
      }
      break;
    }
    case 'traffic':
      for (let k = 0; k < cmd.times; k++)
        for (const [n, endpoint] of registry.endpoints('api').entries()) {
          const outcome = cmd.outcomes[n % cmd.outcomes.length] as Outcome;
          registry.report(endpoint, outcome);
          model.report(endpoint.url, outcome);
        }
      break;
    case 'check':
      model.checks.set(cmd.url, cmd.mode);
      break;
    case 'put': {
      const at = script.endpoints.findIndex((e) => e.url === cmd.init.url);
      if (at >= 0) script.endpoints[at] = cmd.init;
      else script.endpoints.push(cmd.init);
      break;
    }
    case 'remove':
      script.endpoints = script.endpoints.filter((e) => e.url !== cmd.url);
      break;
    case 'ttl':
      script.ttl = safeTtl(w.cfg, cmd.ttl);
      break;
    case 'fail':
      script.fail = cmd.fail;
      break;
    case 'junk':
      script.junk = cmd.junk;
      break;
    case 'refresh': {
      let error: unknown;
      await registry.refresh('api').catch((e: unknown) => {
        error = e;
      });
      if (!w.cfg.dynamic) {
        expect(error, where).toBeUndefined();
        break;
      }
      if (model.refresh()) expect(error, where).toBeUndefined();
      else {
        expect(isIntegError(error, 'ERR_DISCOVERY_SOURCE'), `${where}: ${String(error)}`).toBe(true);
        expect((error as Error).message, where).toMatch(
          /hand: (lookup failed|no valid URL in the answer \(1 invalid\))/,
        );
      }
      break;
    }
    case 'bad': {
      const [call, type, names] = badInput(registry, cmd.kind);
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(error, where).toBeInstanceOf(type);
      expect((error as Error).message, where).toMatch(names);
      expect((error as Error).message, where).not.toMatch(/s3cret/);
      break;
    }
  }
  await compare(w, where);
}

describe('createRegistry (randomized model)', () => {
  it('agrees with the README model: candidates, balancers, in-flight, outlier and health timing, sources', async () => {
    await fc.assert(
      fc.asyncProperty(
        cfgArb,
        fc.array(cmdArb, { minLength: 20, maxLength: 80, size: 'max' }),
        async (cfg, cmds) => {
          const w = build(cfg);
          try {
            await w.clock.advance(0);
            w.model.advance(0);
            await compare(w, `start ${JSON.stringify(cfg)}`);
            for (const [i, cmd] of cmds.entries()) await step(w, cmd, i);
            for (const kind of w.model.seen) exercised.add(kind);
          } finally {
            w.registry.close();
          }
        },
      ),
      { seed: 20_260_551, numRuns: 250 },
    );
    expect([...exercised].sort()).toEqual(
      [
        'checkDone',
        'ejected:consecutive-5xx',
        'ejected:failure-percentage',
        'ejected:success-rate',
        'lookup',
        'multiplier > 1',
        'none:empty',
        'none:pending',
        'none:unhealthy',
        'panic',
        'peak-ewma costs differ',
        'readmitted',
        'invalid-only answer fails',
        'report of a departed endpoint',
        'round-robin order',
        'state:failed',
        'state:ready',
        'state:stale',
        'sweep',
        'unhealthy',
        'check',
      ].sort(),
    );
    // 250 runs of pure CPU work on the fake clock (~5 s alone): the limit only catches a hang. 20 s timed it out
    // with two busy loops on the 2 shared cores (3 of 5 runs of the project); nothing in it waits on real time.
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------------
// Proportions, found fixes, bad options, churn

// Wilson-Hilferty approximation of the chi-square quantile at p = 1e-6 (z = 4.753). The seeds are fixed,
// so a run is deterministic; the bound says how far from the README's proportions a run may stray.
const chiSquareBound = (df: number): number => df * (1 - 2 / (9 * df) + 4.753 * Math.sqrt(2 / (9 * df))) ** 3;

function shares(registry: Registry, n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const url = registry.url('api');
    counts.set(url, (counts.get(url) ?? 0) + 1);
  }
  return counts;
}

function chiSquare(counts: Map<string, number>, expected: Map<string, number>): number {
  let chi = 0;
  for (const [url, e] of expected) chi += ((counts.get(url) ?? 0) - e) ** 2 / e;
  return chi;
}

const weightsArb = fc
  .array(fc.constantFrom<number>(0, 0.5, 1, 2, 3, 5), { minLength: 2, maxLength: 6 })
  .filter((weights) => weights.some((w) => w > 0));

const registryOf = (weights: readonly number[], balancer: BalancerName, seed: number): Registry =>
  createRegistry({
    services: { api: staticSource(weights.map((weight, i) => ({ url: POOL[i] as string, weight }))) },
    balancer,
    random: seededRandom(seed),
  });

describe('balancers in a registry (seeded statistics)', () => {
  const N = 6000;

  it('weighted picks in proportion to weight, and weight 0 almost never while another has weight', () => {
    fc.assert(
      fc.property(weightsArb, fc.integer(), (weights, seed) => {
        const counts = shares(registryOf(weights, 'weighted', seed), N);
        const total = weights.reduce((a, b) => a + b, 0);
        const expected = new Map<string, number>();
        weights.forEach((w, i) => {
          if (w > 0) expected.set(POOL[i] as string, (N * w) / total);
          // RFC 2782's "very small chance": 1e-5 of the largest weight, at most 0.06 expected in 6000.
          else expect(counts.get(POOL[i] as string) ?? 0).toBeLessThanOrEqual(2);
        });
        if (expected.size === 1) expect([...counts.values()]).toEqual([N]);
        else expect(chiSquare(counts, expected)).toBeLessThan(chiSquareBound(expected.size - 1));
      }),
      { seed: 55_001, numRuns: 30 },
    );
  });

  it('random picks uniformly, whatever the weights', () => {
    fc.assert(
      fc.property(weightsArb, fc.integer(), (weights, seed) => {
        const counts = shares(registryOf(weights, 'random', seed), N);
        const expected = new Map(weights.map((_, i) => [POOL[i] as string, N / weights.length]));
        expect(chiSquare(counts, expected)).toBeLessThan(chiSquareBound(weights.length - 1));
      }),
      { seed: 55_002, numRuns: 30 },
    );
  });

  it('round-robin gives every endpoint the same share, in order', () => {
    fc.assert(
      fc.property(weightsArb, fc.integer({ min: 1, max: 50 }), (weights, rounds) => {
        const registry = registryOf(weights, 'round-robin', 1);
        const order = registry.endpoints('api').map((e) => e.url);
        const seen = Array.from({ length: order.length * rounds }, () => registry.url('api'));
        expect(seen).toEqual(Array.from({ length: rounds }, () => order).flat());
      }),
      { seed: 55_003, numRuns: 30 },
    );
  });
});

describe('what the model test found', () => {
  it('backs a failing source off from 1 ms when minInterval is 0, instead of asking again at once forever', async () => {
    const clock = createFakeClock();
    const delays: number[] = [];
    const calls: number[] = [];
    const registry = createRegistry({
      services: {
        api: {
          kind: 'down',
          description: 'always failing',
          open: () => ({
            async resolve() {
              calls.push(clock.now());
              throw new Error('SERVFAIL');
            },
          }),
        },
      },
      clock: {
        now: () => clock.now(),
        setTimeout: (callback, ms) => {
          delays.push(ms);
          return clock.setTimeout(callback, ms);
        },
        clearTimeout: (handle) => clock.clearTimeout(handle),
      },
      outlierDetection: false,
      minInterval: 0,
      refreshInterval: 10,
      jitter: 0,
    });
    // Drain the first lookup's promise chain without firing timers (a 0 ms retry would fire forever).
    await new Promise((resolve) => setImmediate(resolve));
    expect(delays).toEqual([1]);
    for (let i = 0; i < 5; i++) await clock.advance(delays.at(-1) as number);
    expect(delays).toEqual([1, 2, 4, 8, 10, 10]);
    expect(calls).toEqual([0, 1, 3, 7, 15, 25]);
    registry.close();
  });

  it('peak-EWMA charges the error penalty for server failures only: a host answering 404 fast stays fast', async () => {
    const clock = createFakeClock();
    const [fast404, ok] = POOL as [string, string];
    const registry = createRegistry({
      services: { api: { urls: [fast404, ok] } },
      balancer: 'peak-ewma',
      outlierDetection: false,
      clock,
      random: seededRandom(7),
    });
    const picks = { [fast404]: 0, [ok]: 0 };
    for (let i = 0; i < 200; i++) {
      const endpoint = registry.pick('api');
      picks[endpoint.url] = (picks[endpoint.url] ?? 0) + 1;
      registry.report(
        endpoint,
        endpoint.url === fast404
          ? { ok: false, status: 404, latencyMs: 1 }
          : { ok: true, status: 200, latencyMs: 5 },
      );
      await clock.advance(5);
    }
    expect(picks[fast404]).toBeGreaterThan(150);
    // A 503 is the host's fault: the same fast host is shunned.
    const failing = createRegistry({
      services: { api: { urls: [fast404, ok] } },
      balancer: 'peak-ewma',
      outlierDetection: false,
      clock,
      random: seededRandom(7),
    });
    let to503 = 0;
    for (let i = 0; i < 200; i++) {
      const endpoint = failing.pick('api');
      if (endpoint.url === fast404) to503++;
      failing.report(
        endpoint,
        endpoint.url === fast404
          ? { ok: false, status: 503, latencyMs: 1 }
          : { ok: true, status: 200, latencyMs: 5 },
      );
      await clock.advance(5);
    }
    expect(to503).toBeLessThan(5);
  });

  it('rejects bad report() input and unknown names with typed errors that name it and hide secrets', () => {
    const registry = createRegistry({
      services: { api: { urls: POOL } },
      outlierDetection: { consecutive5xx: 1 },
    });
    for (let kind = 0; kind < BAD_KINDS; kind++) {
      const [call, type, names] = badInput(registry, kind);
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(error, `kind ${kind}`).toBeInstanceOf(type);
      expect((error as Error).message, `kind ${kind}`).toMatch(names);
      expect((error as Error).message, `kind ${kind}`).not.toMatch(/s3cret/);
    }
    // None of it counted: a NaN status no longer passes as a success, a string '503' as a failure.
    expect(registry.inspect('api').endpoints.map((e) => e.outlier.ejected)).not.toContain(true);
    expect(registry.inspect('api').endpoints[0]?.outlier.consecutiveFailures).toBe(0);
  });
});

describe('createRegistry options', () => {
  const check: HealthCheck = async () => true;
  const cases: [string, () => unknown, abstract new (...args: never[]) => Error, RegExp][] = [
    ['no services', () => createRegistry({} as RegistryOptions), InvalidArgumentError, /Invalid services/],
    [
      'a number as a service',
      () => createRegistry({ services: { api: 5 as never } }),
      InvalidArgumentError,
      /services\.api:/,
    ],
    [
      'an empty urls list',
      () => createRegistry({ services: { api: { urls: [] } } }),
      InvalidArgumentError,
      /services\.api\.urls/,
    ],
    [
      'a URL that does not parse',
      () => createRegistry({ services: { api: { url: 'http://u:s3cret@/?token=s3cret' } } }),
      InvalidUrlError,
      /services\.api\.url/,
    ],
    [
      'an unknown balancer',
      () => createRegistry({ services: { api: POOL[0] as string }, balancer: 'fastest' as never }),
      InvalidArgumentError,
      /Invalid balancer/,
    ],
    [
      'a panic threshold over 100',
      () => createRegistry({ services: { api: { url: POOL[0] as string, panicThreshold: 101 } } }),
      InvalidArgumentError,
      /services\.api\.panicThreshold/,
    ],
    [
      'a NaN panic threshold',
      () => createRegistry({ services: { api: POOL[0] as string }, panicThreshold: Number.NaN }),
      InvalidArgumentError,
      /services\.api\.panicThreshold/,
    ],
    [
      'a zero sweep interval',
      () => createRegistry({ services: { api: POOL[0] as string }, outlierDetection: { interval: 0 } }),
      InvalidArgumentError,
      /outlierDetection\.interval/,
    ],
    [
      'an ejection percent over 100',
      () =>
        createRegistry({
          services: { api: POOL[0] as string },
          outlierDetection: { maxEjectionPercent: 120 },
        }),
      InvalidArgumentError,
      /outlierDetection\.maxEjectionPercent/,
    ],
    [
      'a health check without check',
      () => createRegistry({ services: { api: POOL[0] as string }, healthCheck: { interval: 10 } as never }),
      InvalidArgumentError,
      /healthCheck\.check/,
    ],
    [
      'a zero unhealthy threshold',
      () =>
        createRegistry({
          services: { api: POOL[0] as string },
          healthCheck: { check, unhealthyThreshold: 0 },
        }),
      InvalidArgumentError,
      /healthCheck\.unhealthyThreshold/,
    ],
    [
      'a zero refresh interval',
      () => createRegistry({ services: { api: POOL[0] as string }, refreshInterval: 0 }),
      InvalidArgumentError,
      /Invalid refreshInterval/,
    ],
    [
      'a negative min interval',
      () => createRegistry({ services: { api: POOL[0] as string }, minInterval: -1 }),
      InvalidArgumentError,
      /Invalid minInterval/,
    ],
    [
      'a jitter over 1',
      () => createRegistry({ services: { api: POOL[0] as string }, jitter: 2 }),
      InvalidArgumentError,
      /Invalid jitter/,
    ],
    [
      'a negative static weight',
      () => createRegistry({ services: { api: { urls: [{ url: 'http://u:s3cret@a:1', weight: -1 }] } } }),
      InvalidArgumentError,
      /services\.api\.urls\[0\]\.weight/,
    ],
    [
      'a static priority that is not a number',
      () => staticSource([POOL[0] as string, { url: POOL[1] as string, priority: 'high' as never }]),
      InvalidArgumentError,
      /staticSource\[1\]\.priority/,
    ],
  ];

  it.each(cases)(
    'rejects %s with a typed error naming the option, without secrets',
    (_, build, type, names) => {
      let error: unknown;
      try {
        build();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(type);
      expect((error as Error).message).toMatch(names);
      expect((error as Error).message).not.toMatch(/s3cret/);
    },
  );
});

describe('endpoint churn', () => {
  it('keeps no state or timer for endpoints that left, however many come and go', async () => {
    const check: HealthCheck = async () => true;
    const clock = createFakeClock();
    const random = seededRandom(99);
    let current: string[] = [];
    const registry = createRegistry({
      services: {
        api: {
          kind: 'churn',
          description: '20 of 40 000 addresses per answer',
          open: () => ({
            async resolve() {
              current = Array.from(
                { length: 20 },
                () => `http://10.${Math.floor(random() * 200)}.${Math.floor(random() * 200)}.1:80`,
              );
              return { endpoints: current.map((url) => ({ url })), ttlMs: 10 };
            },
          }),
        },
      },
      clock,
      random: seededRandom(1),
      jitter: 0,
      minInterval: 10,
      balancer: 'peak-ewma',
      healthCheck: { check, interval: 7, jitter: 0 },
      outlierDetection: { interval: 10, consecutive5xx: 1, maxEjectionPercent: 50 },
    });
    const held: Endpoint[] = [];
    for (let i = 0; i < 300; i++) {
      await clock.advance(10);
      held.push(registry.pick('api'), registry.pick('api'));
      // Reports of endpoints picked before they left are ignored.
      registry.report(held.shift() as Endpoint, { ok: i % 3 !== 0, latencyMs: 3 });
    }
    const known = new Set(current);
    const view = registry.inspect('api');
    expect(view.endpoints.map((e) => e.url).sort()).toEqual([...known].sort());
    // The refresh loop, the sweep, and one health check per endpoint: nothing left behind.
    expect(clock.pendingTimers).toBe(2 + known.size);
    const inflight = view.endpoints.reduce((n, e) => n + e.load.inflight, 0);
    expect(inflight).toBeLessThanOrEqual(held.length);
    registry.close();
    expect(clock.pendingTimers).toBe(0);
  });
});
