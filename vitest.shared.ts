/**
 * Shared vitest settings. Tests import packages by their public names (`@integ/core`,
 * `@integ/queue/sqlite`); these aliases point those names at the sources, so tests need no build.
 * Convention: `@integ/<pkg>` -> packages/<pkg>/src/index.ts, `@integ/<pkg>/<sub>` -> packages/<pkg>/src/<sub>.ts.
 */
import { fileURLToPath } from 'node:url';
import type { ViteUserConfig } from 'vitest/config';

const packages = fileURLToPath(new URL('./packages/', import.meta.url));

export const alias: { find: RegExp; replacement: string }[] = [
  { find: /^@integ\/([a-z-]+)$/, replacement: `${packages}$1/src/index.ts` },
  { find: /^@integ\/([a-z-]+)\/([a-z-]+)$/, replacement: `${packages}$1/src/$2.ts` },
];

export function project(name: string): ViteUserConfig {
  return {
    resolve: { alias },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: 20_000,
      hookTimeout: 20_000,
    },
  };
}
