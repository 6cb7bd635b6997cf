// The crash test's child processes load this bundle (sources of @integ/queue, core and retry in one file).
export { createQueue } from '../../src/index.js';
export { sqliteStore } from '../../src/sqlite.js';
