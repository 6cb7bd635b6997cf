// Crash-test batch producer: several concurrent loops call pushMany() with batches of seeded random sizes (1 to
// 1,200 jobs, so one batch spans several multi-row INSERTs and the group commit joins batches of different loops)
// and append `batch size firstId lastId` to the log only after pushMany() resolved, one fsync per line. It runs
// until SIGKILLed.
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

const { QUEUE_BUNDLE, DB_PATH, ACK_LOG, ROUND, LOOPS, SEED } = process.env;
const { createQueue, sqliteStore } = await import(QUEUE_BUNDLE);
const queue = createQueue({ name: 'batch', store: sqliteStore({ path: DB_PATH, durability: 'normal' }) });
const log = openSync(ACK_LOG, 'a');
process.on('exit', () => closeSync(log));

// mulberry32, seeded per round: the batch sizes repeat from run to run.
let state = Number(SEED) + Number(ROUND) * 7919;
const random = () => {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

let n = 0;
async function loop(id) {
  for (;;) {
    const batch = `r${ROUND}-l${id}-${n++}`;
    const size = 1 + Math.floor(random() * 1200);
    const jobs = await queue.pushMany(Array.from({ length: size }, (_, i) => ({ batch, size, i })));
    writeSync(log, `${batch} ${size} ${jobs[0].id} ${jobs[size - 1].id}\n`);
    fsyncSync(log);
  }
}
process.send?.('ready');
await Promise.all(Array.from({ length: Number(LOOPS ?? 4) }, (_, i) => loop(i)));
