/**
 * Crash test: producer and worker processes on one SQLite file, SIGKILLed at seeded random points over
 * many rounds. Afterwards every push the producer saw acknowledged exists exactly once (done, pending or
 * dead): nothing lost, nothing duplicated; and a job ran more than once only when its lease expired.
 *
 * The children cannot use vitest's aliases, so beforeAll bundles the package sources (with @integ/core
 * and @integ/retry) into one ESM file with tsup's API; see docs/decisions/0031.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '@integ/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleQueueSources } from './bundle.js';
import { type Child, forkChild, wait } from './children.js';
import { openTestDatabase } from './sqlite-db.js';

let bundle = '';
const { CRASH_ROUNDS, CRASH_SEED } = process.env;
const ROUNDS = Number(CRASH_ROUNDS ?? 12);
const SEED = Number(CRASH_SEED ?? 20261123);
const LEASE_MS = 400;

const dir = mkdtempSync(join(tmpdir(), 'integ-queue-crash-'));
const dbPath = join(dir, 'crash.db');
const ackLog = join(dir, 'acks.log');
const execLog = join(dir, 'executions.log');
const children = new Set<ChildProcess>();

function start(script: string, env: Record<string, string>): Child {
  return forkChild(children, script, {
    QUEUE_BUNDLE: bundle,
    DB_PATH: dbPath,
    ACK_LOG: ackLog,
    EXEC_LOG: execLog,
    LEASE_MS: String(LEASE_MS),
    ...env,
  });
}

beforeAll(async () => {
  bundle = await bundleQueueSources('crash-test');
}, 60_000);

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('crash safety (sqlite, durability normal)', () => {
  it(`loses no acknowledged push over ${ROUNDS} rounds of SIGKILL, and repeats a job only after its lease expired`, async () => {
    const random = seededRandom(SEED);
    const kills: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const producer = start('producer.mjs', { ROUND: String(round), LOOPS: '8' });
      const worker = start('worker.mjs', {});
      await Promise.all([producer.ready, worker.ready]);
      const runFor = 100 + Math.floor(random() * 400);
      const victim = random();
      await wait(runFor);
      // Kill one side first at a random offset, then the other: both die mid-flight in every round.
      const [first, second] = victim < 0.5 ? [producer, worker] : [worker, producer];
      first.child.kill('SIGKILL');
      await wait(Math.floor(random() * 100));
      second.child.kill('SIGKILL');
      await Promise.all([producer.exited, worker.exited]);
      kills.push(`round ${round}: ran ${runFor} ms, killed ${victim < 0.5 ? 'producer' : 'worker'} first`);
    }
    // A last, unkilled worker takes over the expired leases and drains the queue.
    const drain = start('worker.mjs', { DRAIN: '1' });
    expect(await drain.exited).toBe(0);

    const acked = readFileSync(ackLog, 'utf8').split('\n').filter(Boolean);
    const db = openTestDatabase(dbPath, { readonly: true });
    const rows = db
      .prepare("SELECT payload, status, attempts FROM integ_jobs WHERE queue = 'crash'")
      .all() as {
      payload: string;
      status: string;
      attempts: number;
    }[];
    db.close();
    const stored = new Map<string, { status: string; count: number }>();
    for (const row of rows) {
      const name = (JSON.parse(row.payload) as { name: string }).name;
      const entry = stored.get(name);
      stored.set(name, { status: row.status, count: (entry?.count ?? 0) + 1 });
    }
    const lost = acked.filter((name) => !stored.has(name));
    const duplicated = [...stored].filter(([, v]) => v.count !== 1).map(([k]) => k);
    const statuses = new Set([...stored.values()].map((v) => v.status));

    // Executions: name token stalled attempt. A repeat must be a delivery after an expired lease
    // (stalled) or a planned retry after a failure (a new attempt), never a second run of one lease.
    const runs = new Map<string, { token: number; stalled: boolean; attempt: number }[]>();
    for (const line of readFileSync(execLog, 'utf8').split('\n').filter(Boolean)) {
      const [name, token, stalled, attempt] = line.split(' ');
      const list = runs.get(name as string) ?? [];
      list.push({ token: Number(token), stalled: stalled === '1', attempt: Number(attempt) });
      runs.set(name as string, list);
    }
    let retries = 0;
    const unexplained: string[] = [];
    const afterExpiry: string[] = [];
    for (const [name, list] of runs) {
      const tokens = new Set(list.map((r) => r.token));
      if (tokens.size !== list.length) unexplained.push(`${name}: one lease ran twice`);
      const plannedFailures = Number(name.split('-')[2]) % 20 === 0;
      for (const run of list.slice(1)) {
        if (run.stalled) afterExpiry.push(`${name} (token ${run.token}, attempt ${run.attempt})`);
        else if (plannedFailures) retries++;
        else
          unexplained.push(`${name}: ran again (token ${run.token}) without an expired lease or a failure`);
      }
    }
    console.log(
      [
        `crash test: ${ROUNDS} rounds, seed ${SEED}, lease ${LEASE_MS} ms`,
        ...kills,
        `acknowledged pushes: ${acked.length}; rows: ${rows.length} (${rows.length - acked.length} committed but killed before the producer logged them)`,
        `lost: ${lost.length}; duplicated rows: ${duplicated.length}; statuses: ${[...statuses].join(', ')}`,
        `executions: ${[...runs.values()].reduce((a, l) => a + l.length, 0)} for ${runs.size} jobs; repeated after an expired lease: ${afterExpiry.length}; planned retries after a failure: ${retries}`,
        `repeated after an expired lease (the killed worker's jobs): ${afterExpiry.join(', ')}`,
      ].join('\n'),
    );
    // Loose on purpose: a slow CI disk (one fsync per logged push) must not make the test flaky.
    expect(acked.length).toBeGreaterThan(ROUNDS * 2);
    expect(lost).toEqual([]);
    expect(duplicated).toEqual([]);
    expect(unexplained).toEqual([]);
    for (const [, v] of stored) expect(['done', 'dead']).toContain(v.status);
  }, 110_000);
});
