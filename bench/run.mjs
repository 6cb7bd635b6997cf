/**
 * Runs every `*.bench.mjs` in this folder (or the ones named: `node bench/run.mjs retry breaker`),
 * each in its own process so one benchmark's heap does not skew the next.
 * Run it on Node 20 and on Node 24: `npx -p node@24 node bench/run.mjs`.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.some((name) => f.startsWith(name)))
  .sort();
if (files.length === 0) console.log('no benchmarks matched');
let failed = 0;
for (const file of files) {
  console.log(`\n## ${file} (node ${process.versions.node})`);
  const result = spawnSync(process.execPath, ['--expose-gc', file], { cwd: dir, stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
