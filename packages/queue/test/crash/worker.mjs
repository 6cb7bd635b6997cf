// Crash-test worker: logs every handler start (job name, token, stalled flag, attempt) with an fsync
// before doing a little work, so re-executions can be counted after SIGKILL. With DRAIN=1 it exits
// once no job is pending or processing.
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

const { QUEUE_BUNDLE, DB_PATH, EXEC_LOG, LEASE_MS, DRAIN } = process.env;
const { createQueue, sqliteStore } = await import(QUEUE_BUNDLE);
const store = sqliteStore({ path: DB_PATH, durability: 'normal' });
const queue = createQueue({ name: 'crash', store });
const log = openSync(EXEC_LOG, 'a');
process.on('exit', () => closeSync(log));

const worker = queue.process(
  async (job) => {
    writeSync(log, `${job.payload.name} ${job.token} ${job.stalled ? 1 : 0} ${job.attempts}\n`);
    fsyncSync(log);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 10));
    if (job.maxAttempts === 2 && Math.random() < 0.5) throw new Error('planned failure');
  },
  { concurrency: 8, leaseMs: Number(LEASE_MS), pollInterval: 20 },
);
process.send?.('ready');
if (DRAIN === '1') {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const stats = await queue.stats();
    if (stats.pending === 0 && stats.processing === 0) break;
  }
  await worker.close();
  await store.close();
  process.exit(0);
}
