/**
 * Breakers by key (a host, a route, a tenant), created on first use. Keys are open-ended (every new
 * tenant is a new key), so the registry keeps memory bounded: it evicts closed breakers that have been
 * idle for `idleFor`, and past `maxSize` the least recently used closed breaker. An open or half-open
 * breaker is remembered: forgetting it would send traffic to a dependency known to be down. Only when
 * every breaker it looks at is open does it evict the least recently used one regardless, because the
 * memory bound is a promise too. A breaker with a call in flight through `execute(key, fn)` is not idle
 * (evicting it would drop that call's outcome into a breaker nobody asks any more); past `maxSize` it is
 * evicted only when every closed breaker looked at has a call in flight.
 */
import { type Clock, InvalidArgumentError, systemClock } from '@integ/core';
import {
  type Breaker,
  type BreakerContext,
  type BreakerOptions,
  type BreakerSnapshot,
  createBreaker,
  DISARM,
  type Disarmable,
  drop,
  type ExecuteOptions,
  optionsOf,
  steady,
} from './breaker.js';

/** Options of {@link createBreakerRegistry}. */
export interface BreakerRegistryOptions {
  /**
   * Options of every breaker (`null`: none, as for a whole options object), or a function of the key returning
   * them. Their `clock` defaults to the registry's. @default {}
   */
  readonly options?: BreakerOptions | null | ((key: string) => BreakerOptions | null | undefined) | undefined;
  /** Most breakers kept at once, a whole number >= 1. @default 1_000 */
  readonly maxSize?: number | undefined;
  /**
   * A closed breaker not used for this many ms (>= 0; `Infinity`: never idle) is evicted. A call through
   * `execute` is a use when it starts and when it ends, and the breaker is not idle while it runs. A use sweeps
   * only the 8 least recently used entries: when all 8 are open or busy, idle ones behind them wait for those to
   * move, or `prune()`.
   * @default 300_000 (5 min)
   */
  readonly idleFor?: number | undefined;
  /** Where time comes from (idle tracking, and breakers without their own clock). @default systemClock */
  readonly clock?: Clock | undefined;
  /**
   * Called with each evicted breaker, once the `get`, `execute` or `prune` that evicted it has done its work.
   * Not re-entered: what a registry call made from inside it evicts is evicted without a call. If it throws, or
   * is async and rejects, the error is ignored.
   * @default none
   */
  readonly onEvict?: ((key: string, breaker: Breaker) => void) | undefined;
}

/** A keyed set of breakers. */
export interface BreakerRegistry {
  /**
   * The breaker of `key`, created on first use (and anew, closed, after the registry evicted it).
   * @throws {InvalidArgumentError} when `key` is not a string (`execute` rejects with it instead)
   * @throws whatever the per-key `options` function throws, or InvalidArgumentError for the options it returns
   *   (a Promise, or anything but an object, included)
   * @throws {InvalidArgumentError} (`key`) when called for a key from inside the making of its breaker (its
   *   `options` function, a `window` factory)
   */
  get(key: string): Breaker;
  /**
   * `get(key).execute(fn, options)`, and the breaker is not idle until the call ends (a call made through
   * `get(key).execute` is not seen by the registry).
   */
  execute<T>(
    key: string,
    fn: (context: BreakerContext) => T | PromiseLike<T>,
    options?: ExecuteOptions,
  ): Promise<T>;
  /** Whether a breaker for `key` is held (does not create one or count as use). */
  has(key: string): boolean;
  /**
   * Forgets the breaker of `key`. Unlike eviction it does not stop an open breaker's `onStateChange` timer
   * (the caller may still hold the breaker): that timer fires once, at the end of the open period.
   */
  delete(key: string): boolean;
  /** Evicts every closed breaker idle for `idleFor` with no call in flight; returns how many went. */
  prune(): number;
  /** How many breakers are held. */
  readonly size: number;
  /** Snapshots of every breaker held when it is called, by key (one a hook it runs evicts included, one it adds not). */
  snapshot(): Record<string, BreakerSnapshot>;
  /** Forgets every breaker; like `delete`, it leaves open breakers' `onStateChange` timers to fire once. */
  clear(): void;
}

interface Entry {
  readonly breaker: Disarmable;
  used: number;
  /** Calls in flight through `execute`. */
  calls: number;
}

// How far into the LRU order one eviction looks for a closed breaker before evicting the oldest anyway.
const SCAN = 8;

/**
 * Creates a registry of breakers keyed by string.
 *
 * @throws {InvalidArgumentError} for a `maxSize` that is not a whole number >= 1, an `idleFor` that is not a
 *   number >= 0, an `onEvict` that is not a function, `options` neither an object nor a function (or the
 *   registry's options not an object: a string, a Promise), a `clock`
 *   without `now`, `setTimeout` and `clearTimeout` methods, or an options object that `createBreaker` refuses
 * @example
 * ```ts
 * const breakers = createBreakerRegistry({ options: { failureThreshold: 3 }, maxSize: 10_000 });
 * const res = await breakers.execute(new URL(url).host, ({ signal }) => fetch(url, { signal }));
 * ```
 */
export function createBreakerRegistry(options: BreakerRegistryOptions | null = {}): BreakerRegistry {
  // `null` is no options, as in @integ/retry (a config read from JSON), not a TypeError on its first field; a
  // string or a Promise is refused, not read as no options.
  options = optionsOf(options);
  const clock = options.clock ?? systemClock;
  // Idle time on readings that never step back: a clock set back a day kept every breaker from idling for a day.
  const time = steady(clock);
  const maxSize = options.maxSize ?? 1_000;
  if (!(Number.isInteger(maxSize) && maxSize >= 1))
    throw new InvalidArgumentError('maxSize', 'an integer >= 1', maxSize);
  const idleFor = options.idleFor ?? 300_000;
  if (!(typeof idleFor === 'number' && idleFor >= 0))
    throw new InvalidArgumentError('idleFor', 'a number of ms >= 0', idleFor);
  const { onEvict } = options;
  if (onEvict != null && typeof onEvict !== 'function')
    throw new InvalidArgumentError('onEvict', 'a function', onEvict);
  const make = options.options;
  if (make != null && typeof make !== 'object' && typeof make !== 'function')
    throw new InvalidArgumentError('options', 'BreakerOptions or (key) => BreakerOptions', make);
  // `clock: undefined` (options spread from a config without one) means no clock of its own, too.
  // A Promise (an async options loader) is no options: spread, it made a breaker with every default, and its
  // rejection, left unhandled, ends a Node process. So is anything but an object: a JSON string not parsed, a
  // function not called, spread into every default too.
  const build = (own: BreakerOptions | null | undefined): Entry['breaker'] => {
    own = optionsOf(own);
    return createBreaker({ ...own, clock: own.clock ?? clock }) as Entry['breaker'];
  };
  // Static options are checked now, by a breaker made and dropped (disarmed: an open initialState with
  // onStateChange arms a timer): a wrong one throws at startup, not at the first request's get(). With an
  // options function, the breaker checks the registry's own clock.
  build(typeof make === 'function' ? {} : make)[DISARM]();
  // Map iteration order is insertion order: re-inserting on use keeps it least-recently-used first.
  const entries = new Map<string, Entry>();
  // Keys whose breaker is being made (see use()).
  const making = new Set<string>();

  // Evictions waiting for onEvict, which runs once the map is settled (decision 0122); `undefined` while
  // it runs (and without it): a get() made inside onEvict that evicts is not reported, or a hook that
  // makes a key per eviction would feed itself for ever (each new key evicts another), and a report
  // deferred instead would pile up without bound.
  let pending: [string, Breaker][] | undefined = onEvict && [];

  const evict = (key: string, entry: Entry): void => {
    entries.delete(key);
    // An open breaker's timer (armed for onStateChange) would keep it alive for its open period after it
    // left the map: a flood of failing keys would hold one per key, however small maxSize. Held by the
    // caller, it still moves to half-open when next looked at.
    entry.breaker[DISARM]();
    pending?.push([key, entry.breaker]);
  };

  // Calls onEvict for the evictions of the call that is ending, once its map work is done (its key held,
  // within maxSize), so that a hook using the registry cannot make that work loop. Returns `value`.
  const report = <T>(value: T): T => {
    const list = pending;
    if (list) {
      pending = undefined;
      // A throwing hook must not fail the get() (or execute()) that made room, nor leave its key out; an
      // async one's rejection is dropped, not left unhandled (that ends a Node process).
      for (const [key, breaker] of list)
        try {
          drop(onEvict!(key, breaker));
        } catch {}
      pending = [];
    }
    return value;
  };

  /**
   * Evicts idle closed breakers from the least recently used end, looking at no more than `budget`
   * entries (so a use costs O(1) amortised). Entries are in order of last use, so the first one used
   * within `idleFor` ends the sweep.
   */
  const sweep = (now: number, budget: number): number => {
    let n = 0;
    for (const [key, entry] of entries) {
      if (budget-- <= 0 || now - entry.used < idleFor) break;
      if (!(entry.calls || entry.breaker[DISARM](1))) {
        evict(key, entry);
        n++;
      }
    }
    return n;
  };

  // Makes room for one more: called before `use` (re-)inserts its key, so `maxSize` >= 1 entries are
  // held and there is always a victim. The victim is the first closed breaker with no call in flight among
  // the oldest, else the first closed one (its call's outcome is lost, but the bound holds), else the oldest.
  // States are read with [DISARM](1), as in sweep(): reading `.state` could move a breaker to half-open and
  // run its onStateChange, whose registry.get() would change the map under the search (which then evicted
  // the key just got, or a breaker already evicted, reported twice).
  const shrink = (): void => {
    while (entries.size >= maxSize) {
      let victim: [string, Entry] | undefined;
      let closed: [string, Entry] | undefined;
      let seen = 0;
      for (const pair of entries) {
        victim ??= pair;
        if (!pair[1].breaker[DISARM](1)) {
          closed ??= pair;
          if (!pair[1].calls) {
            closed = pair;
            break;
          }
        }
        if (++seen >= SCAN) break;
      }
      victim = closed ?? victim!;
      evict(victim[0], victim[1]);
    }
  };

  const use = (key: string, lenient?: 1): Entry => {
    // Keys come from requests (hosts, tenants): a number or an object would be a Map key apart from its
    // string (1 and '1' two breakers) yet collide with it in snapshot().
    if (typeof key !== 'string') throw new InvalidArgumentError('key', 'a string', key);
    const now = time(lenient);
    let entry = entries.get(key);
    if (entry !== undefined) {
      entries.delete(key);
    } else {
      // A get (or execute) of a key whose breaker is being made, from the code making it (the options function,
      // a window factory): made again inside, it recursed without end, or, behind the caller's own guard, was
      // handed out and then replaced by the outer one, never reported to onEvict.
      if (making.has(key)) throw new InvalidArgumentError('key', 'no get(key) from its own options', key);
      making.add(key);
      try {
        entry = { breaker: build(typeof make === 'function' ? make(key) : make), used: now, calls: 0 };
      } finally {
        making.delete(key);
      }
    }
    entry.used = now;
    // Evict before (re-)inserting `key`: the breaker handed out must be the one held, even when it is
    // the only closed one (every other one open) or `idleFor` is 0.
    sweep(now, SCAN);
    shrink();
    entries.set(key, entry);
    return report(entry);
  };

  return {
    get: (key) => use(key).breaker,
    // Async: bad per-key options become a rejection, like every other failure of execute(), and the
    // `finally` ends the call exactly once however fn ends (value, rejection, synchronous throw).
    async execute(key, fn, opts) {
      const entry = use(key);
      entry.calls++;
      try {
        return await entry.breaker.execute(fn, opts);
      } finally {
        entry.calls--;
        // The end is a use (idleFor runs from it), unless the entry was evicted or deleted meanwhile.
        // Lenient: a clock that throws now must not replace fn's outcome (decision 0126).
        if (entries.get(key) === entry) use(key, 1);
      }
    },
    has: (key) => entries.has(key),
    delete: (key) => entries.delete(key),
    prune: () => report(sweep(time(), Infinity)),
    get size(): number {
      return entries.size;
    },
    // fromEntries defines own properties: `out[key] =` with the key '__proto__' would set the prototype
    // instead, and that breaker would be missing from the snapshot (and its JSON). Over a copy: a breaker's
    // snapshot() can move it to half-open and run its onStateChange, whose registry.get() would change the
    // map mid-iteration (a breaker evicted before its turn left out, one inserted reported).
    snapshot: (): Record<string, BreakerSnapshot> =>
      Object.fromEntries([...entries].map(([key, entry]) => [key, entry.breaker.snapshot()])),
    clear: () => entries.clear(),
  };
}
