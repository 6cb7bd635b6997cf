// Self-check of the harness: a bare await against an async function call. Keeps `pnpm bench` honest
// about its own overhead.
import { sleep } from '@integ/core';
import { suite } from './harness.mjs';

const value = Promise.resolve(1);
await suite('harness: await overhead', { baseline: 'bare await' })
  .add('bare await', async () => {
    await value;
  })
  .add(
    'await sleep(0)',
    async () => {
      await sleep(0);
    },
    { batch: 1 },
  )
  .run();
