/**
 * Review 36 (B2): the README's install line, run as written by a pnpm 10 user in a scratch project
 * (/tmp/consumer-scripts/pnpm-per-package.sh), did not give a setup in which its own examples run:
 * - `pnpm add -D @integ/testing msw` took msw 3.0.5 (the registry's latest), outside the peer range `^2.15.0`
 *   (pnpm: "unmet peer"), and msw 3 needs Node >= 22.12: on Node 20 the quick example's first request failed with
 *   `TypeError: Promise.withResolvers is not a function`, so retry gave up (npm picks 2.15 by itself);
 * - the examples import `@integ/retry` and `@integ/core`, which pnpm does not make importable unless added:
 *   `Cannot find package '@integ/retry'`.
 * Read from the README itself, so an edit that drops the range or a package fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  peerDependencies: { msw: string };
};
/** Every package named by a `pnpm add` line before `## Usage`, with the range it gives (`''` for none). */
const added = new Map<string, string>();
for (const line of readme.slice(0, readme.indexOf('## Usage')).split('\n')) {
  if (!line.startsWith('pnpm add ')) continue;
  for (const word of line.replace(/#.*/, '').split(/\s+/).slice(2)) {
    if (word === '' || word.startsWith('-')) continue;
    const at = word.indexOf('@', 1);
    added.set(at === -1 ? word : word.slice(0, at), at === -1 ? '' : word.slice(at + 1));
  }
}
/** The packages the README's ```ts blocks import (bare specifiers, without subpaths and node: builtins). */
const imported = new Set(
  [...readme.matchAll(/^```ts\n([\s\S]*?)^```/gm)].flatMap((block) =>
    [...(block[1] ?? '').matchAll(/from '((?:@[^/']+\/)?[^/']+)/g)].map((m) => m[1] as string),
  ),
);

describe('review 36 (B2): the README install line of @integ/testing', () => {
  it('adds msw within the peer range, not a bare msw that pnpm resolves to the latest major', () => {
    const peer = manifest.peerDependencies.msw; // '^2.15.0'
    const range = added.get('msw');
    expect(range).toBeDefined();
    expect(range).not.toBe('');
    // Same major as the peer range's caret: msw 3 needs Node 22.12 and is outside it.
    expect(range?.replace(/^[\^~]/, '').split('.')[0]).toBe(peer.replace(/^[\^~]/, '').split('.')[0]);
  });

  it('adds every package its examples import, besides vitest and node: builtins', () => {
    const missing = [...imported].filter(
      (name) => !name.startsWith('node:') && name !== 'vitest' && !added.has(name),
    );
    expect(imported).toContain('@integ/retry'); // the scan sees the examples at all
    expect(missing).toEqual([]);
  });
});
