// @integ/retry against cockatiel's retry and p-retry, side by side in one run, with a bare await as the
// baseline. Every library gets a zero backoff (constant(0) / ConstantBackoff(0) / minTimeout 0) so the
// numbers are each library's own overhead, not time spent sleeping.
import { constant, retry } from '@integ/retry';
import { ConstantBackoff, retry as cockatielRetry, handleAll } from 'cockatiel';
import pRetry from 'p-retry';
import { suite } from './harness.mjs';

const failure = new Error('transient');
const ok = async () => 1;

let calls = 0;
// Fails twice, then succeeds: each benchmark iteration resets `calls` and makes exactly three calls.
const flaky = async () => {
  if (++calls < 3) throw failure;
  return 1;
};

const ours = { attempts: 3, backoff: constant(0) };
const cockatiel = cockatielRetry(handleAll, { maxAttempts: 2, backoff: new ConstantBackoff(0) });
const pRetryOptions = { retries: 2, minTimeout: 0, maxTimeout: 0 };

async function bare(fn) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

// Sanity: every contender really retries twice and then resolves with 1.
for (const [name, run] of Object.entries({
  bare: () => bare(flaky),
  integ: () => retry(flaky, ours),
  cockatiel: () => cockatiel.execute(flaky),
  pRetry: () => pRetry(flaky, pRetryOptions),
})) {
  calls = 0;
  const value = await run();
  if (value !== 1 || calls !== 3)
    throw new Error(`${name}: expected 3 calls and 1, got ${calls} calls and ${value}`);
}

await suite('retry: success path (constant(0) backoff for all)', {
  baseline: 'bare await',
  time: 2000,
  warmupTime: 500,
})
  .add('bare await', async () => {
    await ok();
  })
  .add('@integ/retry', async () => {
    await retry(ok, ours);
  })
  .add('@integ/retry (no options)', async () => {
    await retry(ok);
  })
  .add('cockatiel retry', async () => {
    await cockatiel.execute(ok);
  })
  .add('p-retry', async () => {
    await pRetry(ok, pRetryOptions);
  })
  .run();

await suite('retry: fail twice then succeed (constant(0) backoff for all)', {
  baseline: 'bare await loop',
  time: 2000,
  warmupTime: 500,
})
  .add('bare await loop', async () => {
    calls = 0;
    await bare(flaky);
  })
  .add('@integ/retry', async () => {
    calls = 0;
    await retry(flaky, ours);
  })
  .add('cockatiel retry', async () => {
    calls = 0;
    await cockatiel.execute(flaky);
  })
  .add('p-retry', async () => {
    calls = 0;
    await pRetry(flaky, pRetryOptions);
  })
  .run();
