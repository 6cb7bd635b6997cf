import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as sse from '@integ/sse';
import { describe, expect, it } from 'vitest';

const IMPORT = /(?:import|export)[^'"]*from\s+'([^']+)'/g;

/** Every module the main entry reaches through relative imports, with its bare imports. */
function reachable(file: string, seen = new Map<string, string[]>()): Map<string, string[]> {
  if (seen.has(file)) return seen;
  const bare: string[] = [];
  seen.set(file, bare);
  for (const [, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
    if (spec === undefined) continue;
    if (spec.startsWith('.'))
      reachable(fileURLToPath(new URL(spec.replace(/\.js$/, '.ts'), `file://${file}`)), seen);
    else bare.push(spec);
  }
  return seen;
}

describe('the main entry', () => {
  it('imports no node: module (browsers, Deno, edge) and only @integ packages', () => {
    const modules = reachable(fileURLToPath(new URL('./index.ts', import.meta.url)));
    expect(modules.size).toBeGreaterThan(5);
    for (const [file, bare] of modules) {
      expect(file).not.toMatch(/test/);
      for (const spec of bare) expect(spec, file).toMatch(/^@integ\/(core|retry)$/);
    }
  });

  it('exports the DESIGN.md contract names', () => {
    for (const value of [sse.createParser, sse.connect, sse.EventSource, sse.encodeEvent, sse.SseHttpError])
      expect(value).toBeTypeOf('function');
    expect([sse.EventSource.CONNECTING, sse.EventSource.OPEN, sse.EventSource.CLOSED]).toEqual([0, 1, 2]);
  });
});
