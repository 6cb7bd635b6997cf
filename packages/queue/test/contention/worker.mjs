// Contention-test worker: several loops claim jobs from one SQLite file shared with other processes. Each claim
// is logged; a seeded share of jobs is abandoned (its lease expires and another holder takes it over) or acked
// only after its lease expired. Exits once no job is pending or processing.
import { writeFileSync } from 'node:fs';

const { QUEUE_BUNDLE, DB_PATH, LOG, SEED, WORKER } = process.env;
const { createQueue, sqliteStore } = await import(QUEUE_BUNDLE);
const store = sqliteStore({ path: DB_PATH, busyTimeout: 10_000 });
const queue = createQueue({ name: 'contention', store, attempts: 1000 });
let seed = Number(SEED);
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const lines = [];

async function loop() {
  for (;;) {
    const job = await queue.next({ leaseMs: 25 });
    if (job === null) {
      const stats = await queue.stats();
      if (stats.pending === 0 && stats.processing === 0) return;
      await wait(2);
      continue;
    }
    lines.push(`claim ${job.id} ${job.token} ${WORKER}`);
    const r = random();
    if (r < 0.15) continue; // abandoned: the lease expires and another holder takes the job over
    if (r < 0.25) await wait(40); // outlives its lease before acking: fencing decides
    try {
      await job.ack();
      lines.push(`ack ${job.id} ${job.token} ${WORKER}`);
    } catch (error) {
      lines.push(`refused ${job.id} ${job.token} ${error.code}`);
    }
  }
}

process.send?.('ready');
await Promise.all([loop(), loop(), loop(), loop()]);
writeFileSync(LOG, `${lines.join('\n')}\n`);
await store.close();
process.exit(0);
