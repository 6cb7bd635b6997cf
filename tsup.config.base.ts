/**
 * The one tsup configuration every published package uses: ESM + CJS, .d.ts + .d.cts, sourcemaps.
 * A package's tsup.config.ts only names its entry points.
 */
import type { Options } from 'tsup';

export function packageBuild(entry: Record<string, string>): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    platform: 'neutral',
    treeshake: true,
    tsconfig: '../../tsconfig.build.json',
    // Keep `node:` specifiers as written: Node >= 20 needs no compat rewrite, and bundlers key on them.
    removeNodeProtocol: false,
    splitting: false,
    // Sibling @integ packages and peers stay external (tsup externalises dependencies and peers).
  };
}
