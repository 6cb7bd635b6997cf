import { defineProject } from 'vitest/config';

// Not vitest.shared.ts's project(): these tests import no @integ source, they run the built dist on Bun and Deno.
export default defineProject({
  test: {
    name: 'runtimes',
    include: ['runtimes.test.ts', 'consumer.test.ts'],
    testTimeout: 90_000,
    hookTimeout: 30_000,
  },
});
