import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dir = new URL('./', import.meta.url);
const sources = [
  ...readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')),
  ...readdirSync(new URL('./internal/', dir))
    .filter((f) => f.endsWith('.ts') && !f.startsWith('test-'))
    .map((f) => `internal/${f}`),
];

describe('the main entry', () => {
  it('has no static node: import in any module it bundles (Node modules load on first use)', () => {
    expect(sources.length).toBeGreaterThan(10);
    for (const file of sources) {
      const text = readFileSync(new URL(file, dir), 'utf8');
      // `import type` and `typeof import('node:x')` are erased; value imports are not.
      expect(text, file).not.toMatch(/^\s*import\s+(?!type\b)[^;]*from\s+['"]node:/m);
      expect(text, file).not.toMatch(/(?<!typeof\s)import\(\s*['"]node:/);
    }
  });
});
