/**
 * Passive outlier detection with gRPC A50 / Envoy semantics: consecutive 5xx (inline, Envoy), success-rate
 * and failure-percentage ejection (on each `interval` sweep, A50), ejection time growing with the number
 * of ejections (`baseEjectionTime x multiplier`, capped by `max(baseEjectionTime, maxEjectionTime)`,
 * multiplier decremented on each sweep the endpoint stays in), and `maxEjectionPercent` (never more than that
 * share, but always at least one endpoint may be ejected: Envoy with `always_eject_one_host` on; decision 0051).
 */
import { InvalidArgumentError } from '@integ/core';
import type { CallOutcome } from './balancers.js';

/** Success-rate ejection (A50 `successRateEjection`). */
export interface SuccessRateEjection {
  /** Eject below `mean - stdev x stdevFactor / 1000`. @default 1900 */
  readonly stdevFactor?: number;
  /** Chance (%) that a detected outlier is really ejected. @default 100 */
  readonly enforcementPercentage?: number;
  /** Endpoints with enough volume needed to run the algorithm at all. @default 5 */
  readonly minimumHosts?: number;
  /** Calls in one interval for an endpoint to count. @default 100 */
  readonly requestVolume?: number;
}

/** Failure-percentage ejection (A50 `failurePercentageEjection`). */
export interface FailurePercentageEjection {
  /** Eject at or above this failure percentage. @default 85 */
  readonly threshold?: number;
  /** Chance (%) that a detected outlier is really ejected. @default 100 */
  readonly enforcementPercentage?: number;
  /** Endpoints needed to run the algorithm at all. @default 5 */
  readonly minimumHosts?: number;
  /** Calls in one interval for an endpoint to count. @default 50 */
  readonly requestVolume?: number;
}

/** Options of passive outlier detection (the `outlierDetection` registry option). Durations in ms. */
export interface OutlierDetectionOptions {
  /** Time between ejection sweeps. @default 10000 */
  readonly interval?: number;
  /** Ejection time of a first ejection; the n-th ejection lasts n times longer. @default 30000 */
  readonly baseEjectionTime?: number;
  /** Cap on the ejection time (if larger than `baseEjectionTime`). @default 300000 */
  readonly maxEjectionTime?: number;
  /** Most endpoints of a service ejected at once, in % (at least one may always be ejected). @default 10 */
  readonly maxEjectionPercent?: number;
  /** Consecutive server failures (5xx, or `ok: false` without status) that eject at once; `false` disables. @default 5 */
  readonly consecutive5xx?: number | false;
  /** Chance (%) that a consecutive-5xx outlier is really ejected. @default 100 */
  readonly enforcingConsecutive5xx?: number;
  /** Success-rate ejection; `false` disables. @default enabled with the defaults of {@link SuccessRateEjection} */
  readonly successRateEjection?: SuccessRateEjection | false;
  /** Failure-percentage ejection; `false` disables (as in Envoy, whose enforcement defaults to 0). @default false */
  readonly failurePercentageEjection?: FailurePercentageEjection | false;
}

/** Outlier state of one endpoint. */
export interface OutlierRecord {
  successes: number;
  failures: number;
  /** The previous interval's counts (the "inactive bucket" of A50). */
  lastSuccesses: number;
  lastFailures: number;
  consecutiveFailures: number;
  ejectedAt: number | null;
  ejectedUntil: number | null;
  multiplier: number;
  ejections: number;
  reason: 'consecutive-5xx' | 'success-rate' | 'failure-percentage' | null;
}

/** A fresh {@link OutlierRecord}. */
export function newOutlierRecord(): OutlierRecord {
  return {
    successes: 0,
    failures: 0,
    lastSuccesses: 0,
    lastFailures: 0,
    consecutiveFailures: 0,
    ejectedAt: null,
    ejectedUntil: null,
    multiplier: 0,
    ejections: 0,
    reason: null,
  };
}

interface ResolvedSr {
  stdevFactor: number;
  enforcementPercentage: number;
  minimumHosts: number;
  requestVolume: number;
}
interface ResolvedFp {
  threshold: number;
  enforcementPercentage: number;
  minimumHosts: number;
  requestVolume: number;
}

/** Validated outlier options with defaults filled in. */
export interface ResolvedOutlierOptions {
  readonly interval: number;
  readonly baseEjectionTime: number;
  readonly maxEjectionTime: number;
  readonly maxEjectionPercent: number;
  readonly consecutive5xx: number;
  readonly enforcingConsecutive5xx: number;
  readonly successRate: ResolvedSr | null;
  readonly failurePercentage: ResolvedFp | null;
}

function num(
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max = Number.POSITIVE_INFINITY,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
    throw new InvalidArgumentError(`outlierDetection.${name}`, `a number in [${min}, ${max}]`, value);
  return value;
}

/**
 * Validates outlier options and fills in defaults.
 *
 * @throws InvalidArgumentError naming the bad option
 */
export function resolveOutlierOptions(options: OutlierDetectionOptions = {}): ResolvedOutlierOptions {
  const sr = options.successRateEjection;
  const fp = options.failurePercentageEjection;
  return {
    interval: num('interval', options.interval, 10_000, 1),
    baseEjectionTime: num('baseEjectionTime', options.baseEjectionTime, 30_000, 0),
    maxEjectionTime: num('maxEjectionTime', options.maxEjectionTime, 300_000, 0),
    maxEjectionPercent: num('maxEjectionPercent', options.maxEjectionPercent, 10, 0, 100),
    consecutive5xx:
      options.consecutive5xx === false ? 0 : num('consecutive5xx', options.consecutive5xx, 5, 1),
    enforcingConsecutive5xx: num('enforcingConsecutive5xx', options.enforcingConsecutive5xx, 100, 0, 100),
    successRate:
      sr === false
        ? null
        : {
            stdevFactor: num('successRateEjection.stdevFactor', sr?.stdevFactor, 1900, 0),
            enforcementPercentage: num(
              'successRateEjection.enforcementPercentage',
              sr?.enforcementPercentage,
              100,
              0,
              100,
            ),
            minimumHosts: num('successRateEjection.minimumHosts', sr?.minimumHosts, 5, 0),
            requestVolume: num('successRateEjection.requestVolume', sr?.requestVolume, 100, 0),
          },
    failurePercentage:
      fp === false || fp === undefined
        ? null
        : {
            threshold: num('failurePercentageEjection.threshold', fp.threshold, 85, 0, 100),
            enforcementPercentage: num(
              'failurePercentageEjection.enforcementPercentage',
              fp.enforcementPercentage,
              100,
              0,
              100,
            ),
            minimumHosts: num('failurePercentageEjection.minimumHosts', fp.minimumHosts, 5, 0),
            requestVolume: num('failurePercentageEjection.requestVolume', fp.requestVolume, 50, 0),
          },
  };
}

/** Whether a call outcome is a server-side failure for outlier detection. */
export function isServerFailure(outcome: CallOutcome): boolean {
  return outcome.status !== undefined ? outcome.status >= 500 : !outcome.ok;
}

/**
 * Eject if the result stays within the percentage, or if nothing is ejected yet: Envoy's check with its
 * `always_eject_one_host` on (off by default there, where under 10 endpoints a 10 % cap ejects none). grpc-go and
 * grpc-java check the share before the ejection, so they can end one over the cap (decision 0051).
 */
export function mayEject(ejected: number, total: number, maxEjectionPercent: number): boolean {
  return total > 0 && (ejected === 0 || (100 * (ejected + 1)) / total <= maxEjectionPercent);
}

/** The outlier detector of one service: pure logic over records, time passed in. */
export class OutlierDetector {
  readonly options: ResolvedOutlierOptions;
  private readonly random: () => number;

  constructor(options: ResolvedOutlierOptions, random: () => number) {
    this.options = options;
    this.random = random;
  }

  /** Counts one call; returns true if the endpoint was ejected by it (consecutive 5xx). */
  record(rec: OutlierRecord, outcome: CallOutcome, all: readonly OutlierRecord[], now: number): boolean {
    if (isServerFailure(outcome)) {
      rec.failures++;
      rec.consecutiveFailures++;
      const limit = this.options.consecutive5xx;
      if (limit > 0 && rec.ejectedAt === null && rec.consecutiveFailures >= limit) {
        // As Envoy: the chance is per detected run, so one not enforced starts a new run. Left counting, every
        // further failure was a new draw, and a 10% ramp ejected a host failing every call after ~14 failures.
        if (!this.enforce(this.options.enforcingConsecutive5xx)) rec.consecutiveFailures = 0;
        else return this.tryEject(rec, all, now, 'consecutive-5xx');
      }
      return false;
    }
    rec.successes++;
    rec.consecutiveFailures = 0;
    return false;
  }

  /** The periodic sweep (A50 steps 2-5); returns true if any ejection state changed. */
  sweep(all: readonly OutlierRecord[], now: number): boolean {
    let changed = false;
    for (const rec of all) {
      rec.lastSuccesses = rec.successes;
      rec.lastFailures = rec.failures;
      rec.successes = 0;
      rec.failures = 0;
    }
    const sr = this.options.successRate;
    if (sr !== null) {
      // As Envoy: ejected endpoints are left out (of the mean, the stdev and minimumHosts); the calls they
      // still report (picked before the ejection, or in panic mode) would drag the mean down.
      const eligible = all.filter(
        (r) => r.ejectedAt === null && r.lastSuccesses + r.lastFailures >= Math.max(1, sr.requestVolume),
      );
      // With none eligible (minimumHosts 0) the mean is NaN, and no rate is below a NaN threshold.
      if (eligible.length >= sr.minimumHosts) {
        const rates = eligible.map((r) => r.lastSuccesses / (r.lastSuccesses + r.lastFailures));
        const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
        const variance = rates.reduce((a, b) => a + (b - mean) ** 2, 0) / rates.length;
        const threshold = mean - Math.sqrt(variance) * (sr.stdevFactor / 1000);
        for (let i = 0; i < eligible.length; i++) {
          if ((rates[i] as number) < threshold && this.enforce(sr.enforcementPercentage))
            changed = this.tryEject(eligible[i] as OutlierRecord, all, now, 'success-rate') || changed;
        }
      }
    }
    const fp = this.options.failurePercentage;
    if (fp !== null && all.length >= fp.minimumHosts) {
      for (const rec of all) {
        const volume = rec.lastSuccesses + rec.lastFailures;
        // A volume of 0 (requestVolume 0) gives a NaN percentage, which is no threshold's.
        if (rec.ejectedAt !== null || volume < fp.requestVolume) continue;
        if ((100 * rec.lastFailures) / volume >= fp.threshold && this.enforce(fp.enforcementPercentage))
          changed = this.tryEject(rec, all, now, 'failure-percentage') || changed;
      }
    }
    // An ejection ends with a µs of slack: sweeps are timers chained interval by interval, and on a clock at a
    // fraction of a ms their float sums can fall a hair before `ejectedAt + n x base` added at once, which held an
    // ejection of a whole number of intervals one interval longer (decision 0191).
    for (const rec of all) {
      if (rec.ejectedAt === null) {
        if (rec.multiplier > 0) rec.multiplier--;
      } else if (rec.ejectedUntil !== null && now + 1e-3 >= rec.ejectedUntil) {
        rec.ejectedAt = null;
        rec.ejectedUntil = null;
        rec.reason = null;
        rec.consecutiveFailures = 0;
        changed = true;
      }
    }
    return changed;
  }

  private enforce(percentage: number): boolean {
    return percentage >= 100 || this.random() * 100 < percentage;
  }

  private tryEject(
    rec: OutlierRecord,
    all: readonly OutlierRecord[],
    now: number,
    reason: OutlierRecord['reason'],
  ): boolean {
    let ejected = 0;
    for (const r of all) if (r.ejectedAt !== null) ejected++;
    if (!mayEject(ejected, all.length, this.options.maxEjectionPercent)) return false;
    const { baseEjectionTime, maxEjectionTime } = this.options;
    rec.multiplier++;
    rec.ejections++;
    rec.ejectedAt = now;
    rec.ejectedUntil =
      now + Math.min(baseEjectionTime * rec.multiplier, Math.max(baseEjectionTime, maxEjectionTime));
    rec.reason = reason;
    rec.consecutiveFailures = 0;
    return true;
  }
}
