/**
 * Readings of a clock that never step back. A clock is `Date.now()` by default, a wall clock that NTP, a
 * resumed VM or an operator can set back: read as is, a step back of a day during a blocking Consul query
 * put the next lookup a day away, held an ejection a day and kept peak-EWMA from ever forgiving a failed
 * host. A step back is added to every later reading (`behind`), so durations measured on these readings
 * are elapsed time; the time between the last reading before a step and the first after it is lost.
 * The same idea as @integ/breaker's (decision 0120); a copy, as packages share only @integ/core.
 */
import type { Clock } from '@integ/core';

/** The registry's own time in ms; `behind` is how far the clock has stepped back in all. */
export interface Steady {
  (): number;
  behind: number;
}

export function steady(clock: Clock): Steady {
  let last = Number.NaN;
  const time = (): number => {
    const now = clock.now();
    // A reading that is not a finite number is no time since the last (0 if there was none), as in breaker's
    // steady(): Infinity, or -Infinity as a step back, made every later reading Infinity, NaN stamped NaN.
    if (now - now === 0) {
      if (now < last) time.behind += last - now;
      last = now;
    }
    return (last || 0) + time.behind;
  };
  time.behind = 0;
  return time;
}
