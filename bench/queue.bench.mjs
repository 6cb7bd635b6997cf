// @integ/queue (sqlite store) against plainjob (better-sqlite3), side by side in one run: push (single
// producer, 100 concurrent producers, batches of 100) and end-to-end processing, with `normal`
// durability (survives a killed process), then `full` (survives power loss).
import { record } from './harness.mjs';
import {
  endToEnd,
  integ,
  plainjob,
  plainjobDriver,
  pushBatch,
  pushConcurrent,
  pushSingle,
} from './queue-scenarios.mjs';

const quick = process.env.BENCH_QUICK === '1';
const scale = quick ? 0.2 : 1;

const peerDriver = await plainjobDriver();
const havePeer = peerDriver !== undefined;
console.log(
  `\nplainjob driver on node ${process.versions.node}: ${peerDriver ?? 'none (neither better-sqlite3 nor node:sqlite loads)'}`,
);
const probe = await integ('normal');
console.log(`\n@integ/queue sqlite driver on node ${process.versions.node}: ${probe.driver}`);
await probe.close();

const REPS = quick ? 1 : 3;
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Ours and the peer alternate, REPS times each, and each side reports its median: the disk and CPU
// are shared, so a slow moment should not land on one side only.
async function row(workload, durability, run) {
  const oursRates = [];
  const peerRates = [];
  for (let rep = 0; rep < REPS; rep++) {
    const ours = await run(integ);
    oursRates.push((ours.ops / ours.ms) * 1000);
    if (havePeer) {
      const peer = await run(plainjob);
      peerRates.push((peer.ops / peer.ms) * 1000);
    }
  }
  const oursRate = median(oursRates);
  const peer = havePeer;
  const peerRate = havePeer ? median(peerRates) : Number.NaN;
  return {
    workload,
    durability,
    '@integ/queue ops/s': oursRate,
    'plainjob ops/s': peerRate,
    'x plainjob': peer ? `${(oursRate / peerRate).toFixed(2)}x` : 'n/a',
  };
}

const rows = [];
for (const durability of ['normal', 'full']) {
  const f = durability === 'full' ? 0.1 : 1;
  rows.push(
    await row('push, 1 producer', durability, (m) => pushSingle(m, durability, Math.round(5000 * scale * f))),
  );
  rows.push(
    await row('push, 100 concurrent producers', durability, (m) =>
      pushConcurrent(m, durability, Math.round(30_000 * scale * (durability === 'full' ? 0.34 : 1))),
    ),
  );
  rows.push(
    await row('push, batches of 100 (pushMany)', durability, (m) =>
      pushBatch(m, durability, Math.round(50_000 * scale)),
    ),
  );
  rows.push(
    await row('end to end, concurrency 1', durability, (m) =>
      endToEnd(m, durability, Math.round(10_000 * scale * f), 1),
    ),
  );
  rows.push(
    await row('end to end, concurrency 64', durability, (m) =>
      endToEnd(m, durability, Math.round(30_000 * scale * (durability === 'full' ? 0.34 : 1)), 64),
    ),
  );
}
record('queue: sqlite store vs plainjob (jobs/s)', rows, {
  columns: ['workload', 'durability', '@integ/queue ops/s', 'plainjob ops/s', 'x plainjob'],
});
