/**
 * Third spec-first reading (adversarial): edges the other suites did not reach, each written as a failing
 * test before its fix. Public entry only, fake clock, no real sleeps.
 */
import { constant, type RetryOptions, retry } from '@integ/retry';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';
import { run } from './settle.test-support.js';

describe('options given as null', () => {
  // JSON configs and JS callers write null for "not set". The checks accept null for timeout, deadline and
  // maxRetryAfter (and every function option), so the loop must read it as "not given" too.
  it.each([
    ['timeout', { timeout: null }],
    ['deadline', { deadline: null }],
  ])('%s: null means no limit, not 0 ms', async (_name, nulls) => {
    const clock = createFakeClock();
    let calls = 0;
    const slow = async (): Promise<string> => {
      calls++;
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 50));
      if (calls === 1) throw new Error('flaky');
      return 'ok';
    };
    const options = { clock, signal: new AbortController().signal, backoff: constant(10), ...nulls };
    const result = await run(retry(slow, options as unknown as RetryOptions<string>), clock);
    expect(result).toEqual({ ok: true, value: 'ok' });
    expect(calls).toBe(2);
    expect(clock.pendingTimers).toBe(0);
  });

  it('clock: null means the system clock, not a TypeError', async () => {
    let calls = 0;
    const options = { clock: null, signal: new AbortController().signal, backoff: constant(0) };
    const result = await retry(
      () => {
        if (++calls < 3) throw new Error('flaky');
        return 'ok';
      },
      options as unknown as RetryOptions<string>,
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });
});
