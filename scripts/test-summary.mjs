// Prints vitest's JSON report as one plain closing line: "tests: N passed, N failed, N skipped".
import { existsSync, readFileSync } from 'node:fs';

const file = new URL('../.vitest-results.json', import.meta.url);
// Only CI writes the JSON report (vitest.config.ts); elsewhere a leftover file would be stale.
if (!process.env.CI || !existsSync(file)) process.exit(0);
const report = JSON.parse(readFileSync(file, 'utf8'));
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
