// Crash-test producer: pushes uniquely named jobs from several concurrent loops and appends each id to
// the acknowledgement log only after push() resolved, one fsync per line. It runs until SIGKILLed.
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

const { QUEUE_BUNDLE, DB_PATH, ACK_LOG, ROUND, LOOPS } = process.env;
const { createQueue, sqliteStore } = await import(QUEUE_BUNDLE);
const queue = createQueue({ name: 'crash', store: sqliteStore({ path: DB_PATH, durability: 'normal' }) });
const log = openSync(ACK_LOG, 'a');
process.on('exit', () => closeSync(log));

let n = 0;
async function loop(id) {
  for (;;) {
    const k = n++;
    const name = `r${ROUND}-l${id}-${k}`;
    // Every 20th job may fail once or for good (attempts 2): some end dead, as in real life.
    await queue.push({ name }, k % 20 === 0 ? { attempts: 2, backoff: 10 } : undefined);
    writeSync(log, `${name}\n`);
    fsyncSync(log);
  }
}
process.send?.('ready');
await Promise.all(Array.from({ length: Number(LOOPS ?? 8) }, (_, i) => loop(i)));
