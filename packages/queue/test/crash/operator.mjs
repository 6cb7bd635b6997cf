// Crash-ops child: several loops lease jobs with next() and do a seeded random thing with each (ack, fail with a
// delay, fail for good, extend then ack, ack after the lease ran out, abandon), logging every operation only
// after the store acknowledged it (one fsync per line). It also pushes. It runs until SIGKILLed.
// Log lines: push <name> <id> | claim <id> <token> <attempts> <claimedAt> <leaseUntil> |
//   ack <id> <token> | retry <id> <token> <runAt> | dead <id> <token> | extend <id> <token> <leaseUntil> | lost <id> <token>
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

const { QUEUE_BUNDLE, DB_PATH, OPS_LOG, LEASE_MS, SEED, NAME } = process.env;
const { createQueue, sqliteStore } = await import(QUEUE_BUNDLE);
const lease = Number(LEASE_MS);
const queue = createQueue({
  name: 'ops',
  store: sqliteStore({ path: DB_PATH, busyTimeout: 10_000 }),
  attempts: 4,
  backoff: 0,
});
const log = openSync(OPS_LOG, 'a');
process.on('exit', () => closeSync(log));
const write = (line) => {
  writeSync(log, `${line}\n`);
  fsyncSync(log);
};
let seed = Number(SEED);
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let n = 0;
async function produce() {
  for (;;) {
    const name = `${NAME}-${n++}`;
    const job = await queue.push({ name });
    write(`push ${name} ${job.id}`);
    await wait(random() * 10);
  }
}

async function consume() {
  for (;;) {
    const job = await queue.next({ leaseMs: lease });
    if (job === null) {
      await wait(5);
      continue;
    }
    write(`claim ${job.id} ${job.token} ${job.attempts} ${job.leaseUntil - lease} ${job.leaseUntil}`);
    const r = random();
    try {
      if (r < 0.1) continue; // abandoned: its lease runs out and another claim takes it
      await wait(random() * 20);
      if (r < 0.35) {
        await job.ack();
        write(`ack ${job.id} ${job.token}`);
      } else if (r < 0.55) {
        // Never due before the lease would have ended: then every later claim starts after the lease end logged.
        await job.fail(new Error('planned'), { delay: lease + Math.floor(random() * 100) });
        write(`${job.status === 'dead' ? 'dead' : 'retry'} ${job.id} ${job.token} ${Date.parse(job.runAt)}`);
      } else if (r < 0.6) {
        await job.fail(new Error('for good'), { retry: false });
        write(`dead ${job.id} ${job.token} 0`);
      } else if (r < 0.9) {
        // Always past the current lease, so the latest extension logged is the latest lease end.
        await job.extend(lease + Math.floor(random() * lease));
        write(`extend ${job.id} ${job.token} ${job.leaseUntil}`);
        await wait(random() * lease);
        await job.ack();
        write(`ack ${job.id} ${job.token}`);
      } else {
        await wait(lease + 20); // outlives its lease: fencing decides
        await job.ack();
        write(`ack ${job.id} ${job.token}`);
      }
    } catch (error) {
      if (error.code !== 'ERR_LEASE_LOST') throw error;
      write(`lost ${job.id} ${job.token}`);
    }
  }
}

async function drain() {
  for (;;) {
    const job = await queue.next({ leaseMs: lease });
    if (job === null) {
      const stats = await queue.stats();
      if (stats.pending === 0 && stats.processing === 0) return;
      await wait(10);
      continue;
    }
    write(`claim ${job.id} ${job.token} ${job.attempts} ${job.leaseUntil - lease} ${job.leaseUntil}`);
    await job.ack();
    write(`ack ${job.id} ${job.token}`);
  }
}

process.send?.('ready');
if (process.env.DRAIN === '1') {
  await drain();
  process.exit(0);
}
await Promise.all([produce(), produce(), consume(), consume(), consume(), consume()]);
