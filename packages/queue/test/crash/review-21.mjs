// Children of review-21's crash tests, one script with a ROLE:
// - producer: pushes COUNT uniquely named jobs from 4 loops, logging each name once push() resolved, then exits.
// - worker: process() with concurrency 4 and short leases; a seeded share of first runs blocks the event loop past
//   the lease (so the other worker takes the job over). Logs every run, every ack that applied and every error; on the parent's 'finish'
//   it waits until nothing is pending or processing, closes and writes its log.
// - ackkill: leases COUNT jobs, then acks them all in one group commit and SIGKILLs itself: before the commit
//   (KILL=before), after the KILL_AT-th ack statement ran inside the open transaction (KILL=inside), or once the
//   acks resolved (KILL=after).
// - pushkill: pushes a batch of COUNT jobs (pushMany) and one more job in the same group commit, and SIGKILLs itself
//   once KILL_AT rows were inserted inside the open transaction (at the next INSERT statement).
// - locker: holds a write transaction on DB_PATH (one uncommitted row) for HOLD_MS, then commits or rolls back.
import { closeSync, fsyncSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';

const { ROLE, QUEUE_BUNDLE, DB_PATH, LOG, LEASE_MS, COUNT, NAME, SEED, KILL, KILL_AT, HOLD_MS, END } =
  process.env;
const require = createRequire(QUEUE_BUNDLE ?? import.meta.url);
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The driver the store picks ('auto'): better-sqlite3 when its addon loads in this Node, else node:sqlite.
function driver() {
  try {
    const Better = require('better-sqlite3');
    new Better(':memory:').close();
    return {
      open: (path) => new Better(path),
      statement: Object.getPrototypeOf(new Better(':memory:').prepare('SELECT 1')),
    };
  } catch {
    const { DatabaseSync, StatementSync } = process.getBuiltinModule('node:sqlite');
    return { open: (path) => new DatabaseSync(path), statement: StatementSync.prototype };
  }
}

if (ROLE === 'locker') {
  const db = driver().open(DB_PATH);
  db.exec('BEGIN IMMEDIATE');
  db.exec(
    "INSERT INTO integ_jobs (queue, status, payload, priority, attempts, max_attempts, created_at, run_at, token) VALUES ('q', 'pending', '\"from the locker\"', 0, 0, 3, 0, 0, 0)",
  );
  process.send?.('locked');
  await wait(Number(HOLD_MS));
  db.exec(END === 'commit' ? 'COMMIT' : 'ROLLBACK');
  db.close();
  process.exit(0);
}

const { createQueue, sqliteStore } = await import(QUEUE_BUNDLE);
const lease = Number(LEASE_MS ?? 30_000);

if (ROLE === 'producer') {
  // attempts is stored with each job when it is pushed (the workers' queue option does not reach these jobs): with
  // the default 3, a job whose three leases expired under a loaded machine went dead and never ran to 'done'.
  const queue = createQueue({
    name: 'pool',
    store: sqliteStore({ path: DB_PATH, busyTimeout: 10_000 }),
    attempts: 1000,
  });
  const log = openSync(LOG, 'a');
  let n = 0;
  const total = Number(COUNT);
  process.send?.('ready');
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (n < total) {
        const name = `${NAME}-${n++}`;
        await queue.push({ name });
        writeSync(log, `${name}\n`);
        await wait(n % 7);
      }
    }),
  );
  closeSync(log);
  process.exit(0);
}

if (ROLE === 'worker') {
  let seed = Number(SEED);
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const store = sqliteStore({ path: DB_PATH, busyTimeout: 10_000 });
  const lines = [];
  // attempts counts the claims of a job here (no release), so it names the holder whose ack applied.
  const queue = createQueue({
    name: 'pool',
    store,
    onCompleted: (job) => lines.push(`acked ${job.payload.name} ${job.attempts}`),
  });
  const worker = queue.process(
    async (job) => {
      lines.push(`run ${job.payload.name} ${job.id} ${job.token} ${job.stalled ? 1 : 0} ${job.attempts}`);
      // Blocks this process past its lease: no renewal can run, so the other worker may take the job over.
      if (job.attempts === 1 && random() < 0.06) {
        const until = Date.now() + lease * 1.6;
        while (Date.now() < until);
      } else await wait(Math.floor(random() * 4));
    },
    {
      concurrency: 4,
      leaseMs: lease,
      pollInterval: 5,
      onError: (error) => lines.push(`error ${error.code} ${error.jobId} ${error.token}`),
    },
  );
  let finish = false;
  process.on('message', (m) => {
    if (m === 'finish') finish = true;
  });
  process.send?.('ready');
  for (;;) {
    await wait(20);
    if (!finish) continue;
    const stats = await queue.stats();
    if (stats.pending === 0 && stats.processing === 0) break;
  }
  await worker.close();
  await store.close();
  writeFileSync(LOG, `${lines.join('\n')}\n`);
  process.exit(0);
}

if (ROLE === 'ackkill') {
  if (KILL === 'inside') {
    // Counts the store's ack statements and dies at the KILL_AT-th, with the batch's transaction open and
    // KILL_AT - 1 acks already written into it.
    const proto = driver().statement;
    const run = proto.run;
    let acks = 0;
    proto.run = function (...params) {
      if (/SET status = 'done'/.test(this.source ?? this.sourceSQL) && ++acks === Number(KILL_AT))
        process.kill(process.pid, 'SIGKILL');
      return run.apply(this, params);
    };
  }
  const queue = createQueue({ name: 'q', store: sqliteStore({ path: DB_PATH, durability: 'full' }) });
  const jobs = await Promise.all(Array.from({ length: Number(COUNT) }, () => queue.next({ leaseMs: lease })));
  const log = openSync(LOG, 'a');
  writeSync(log, `${jobs.map((job) => `${job.id}:${job.token}`).join(' ')}\n`);
  fsyncSync(log);
  const acks = jobs.map((job) => job.ack());
  if (KILL === 'before') process.kill(process.pid, 'SIGKILL');
  await Promise.all(acks);
  writeSync(log, 'acked\n');
  fsyncSync(log);
  process.kill(process.pid, 'SIGKILL');
}

if (ROLE === 'pushkill') {
  const proto = driver().statement;
  // Rows, not statements: the store inserts a pushMany many rows per INSERT (`all()`, RETURNING), one row per `run()`
  // otherwise (8 parameters a row). The kill comes at the first INSERT once KILL_AT rows were written.
  let rows = 0;
  for (const method of ['run', 'all']) {
    const original = proto[method];
    proto[method] = function (...params) {
      if (/^INSERT (OR FAIL )?INTO/.test(this.source ?? this.sourceSQL)) {
        if (rows >= Number(KILL_AT)) process.kill(process.pid, 'SIGKILL');
        rows += params.length / 8;
      }
      return original.apply(this, params);
    };
  }
  const queue = createQueue({ name: 'q', store: sqliteStore({ path: DB_PATH, durability: 'full' }) });
  await Promise.all([
    queue.push('alone'),
    queue.pushMany(Array.from({ length: Number(COUNT) }, (_, i) => i)),
  ]);
  process.exit(0);
}
