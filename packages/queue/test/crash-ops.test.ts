/**
 * Crash test of the lease operations: two processes push, lease (next()), ack, fail with a delay, fail for good,
 * extend and abandon jobs on one SQLite file, and are SIGKILLed at seeded random points, so a kill can land
 * between any operation and its commit or between a commit and its log line. Each child logs an operation only
 * once the store acknowledged it. After the rounds a last process drains the file, and the logs and the rows must
 * agree: no acknowledged push lost; a job acked or dead-lettered is never claimed again and ends as it was left;
 * tokens and attempts only grow; no claim starts before the lease (claim or extend) or the retry time logged
 * before it ended; and every job left leased by a killed process comes back once its lease ran out.
 *
 * The children run a bundle of the sources built in beforeAll, like the crash test (decision 0031).
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
const ROUNDS = Number(CRASH_ROUNDS ?? 10);
const SEED = Number(CRASH_SEED ?? 20261125);
const LEASE_MS = 300;

const dir = mkdtempSync(join(tmpdir(), 'integ-queue-crash-ops-'));
const dbPath = join(dir, 'ops.db');
const opsLog = join(dir, 'ops.log');
const children = new Set<ChildProcess>();

function start(env: Record<string, string>): Child {
  return forkChild(children, 'operator.mjs', {
    QUEUE_BUNDLE: bundle,
    DB_PATH: dbPath,
    OPS_LOG: opsLog,
    LEASE_MS: String(LEASE_MS),
    ...env,
  });
}

beforeAll(async () => {
  bundle = await bundleQueueSources('crash-ops-test');
}, 60_000);

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Lease {
  token: number;
  attempts: number;
  claimedAt: number;
  /** The latest lease end the store acknowledged to this holder (claim, then extends). */
  end: number;
  settled?: 'ack' | 'dead' | { retryAt: number };
}

describe('crash safety of ack, fail and extend (sqlite)', () => {
  it(`keeps every acknowledged operation over ${ROUNDS} rounds of SIGKILL at seeded points`, async () => {
    const random = seededRandom(SEED);
    const schedule: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const a = start({ NAME: `r${round}a`, SEED: String(SEED + round * 2) });
      const b = start({ NAME: `r${round}b`, SEED: String(SEED + round * 2 + 1) });
      await Promise.all([a.ready, b.ready]);
      const runFor = 100 + Math.floor(random() * 500);
      const gap = Math.floor(random() * 150);
      const [first, second] = random() < 0.5 ? [a, b] : [b, a];
      await wait(runFor);
      first.child.kill('SIGKILL');
      await wait(gap);
      second.child.kill('SIGKILL');
      await Promise.all([a.exited, b.exited]);
      schedule.push(`round ${round}: ${runFor} ms, then ${gap} ms between the kills`);
    }
    // Jobs leased by the killed processes are still `processing`: the drain takes each once its lease ran out.
    const drain = start({ NAME: 'drain', SEED: String(SEED), DRAIN: '1' });
    expect(await drain.exited).toBe(0);

    const pushes = new Map<string, string>();
    const leases = new Map<string, Map<number, Lease>>();
    const problems: string[] = [];
    const leaseOf = (id: string, token: number): Lease | undefined => leases.get(id)?.get(token);
    let counts = { claim: 0, ack: 0, retry: 0, dead: 0, extend: 0, lost: 0 };
    for (const line of readFileSync(opsLog, 'utf8').split('\n')) {
      if (line === '') continue;
      const [op, a = '', b = '', c = '', d = '', e = ''] = line.split(' ');
      if (op === 'push') {
        pushes.set(a, b);
        continue;
      }
      const token = Number(b);
      counts = { ...counts, [op as string]: (counts[op as keyof typeof counts] ?? 0) + 1 };
      if (op === 'claim') {
        const byToken = leases.get(a) ?? new Map<number, Lease>();
        if (byToken.has(token)) problems.push(`job ${a}: token ${token} handed out twice`);
        byToken.set(token, { token, attempts: Number(c), claimedAt: Number(d), end: Number(e) });
        leases.set(a, byToken);
        continue;
      }
      const lease = leaseOf(a, token);
      if (lease === undefined) {
        problems.push(`job ${a}: ${op} with token ${token} that was never claimed`);
        continue;
      }
      if (op === 'extend') lease.end = Math.max(lease.end, Number(c));
      else if (op === 'ack') lease.settled = 'ack';
      else if (op === 'dead') lease.settled = 'dead';
      else if (op === 'retry') lease.settled = { retryAt: Number(c) };
    }

    const db = openTestDatabase(dbPath, { readonly: true });
    const rows = db
      .prepare("SELECT id, payload, status, token, attempts FROM integ_jobs WHERE queue = 'ops'")
      .all() as { id: number; payload: string; status: string; token: number; attempts: number }[];
    db.close();
    const byId = new Map(rows.map((row) => [String(row.id), row]));
    const names = new Map<string, number>();
    for (const row of rows) {
      const name = (JSON.parse(row.payload) as { name: string }).name;
      names.set(name, (names.get(name) ?? 0) + 1);
    }
    for (const [name, id] of pushes) {
      const row = byId.get(id);
      if (row === undefined || JSON.parse(row.payload).name !== name)
        problems.push(`push ${name} (job ${id}) lost`);
      else if (names.get(name) !== 1) problems.push(`push ${name} stored ${names.get(name)} times`);
    }
    for (const row of rows)
      if (row.status !== 'done' && row.status !== 'dead')
        problems.push(`job ${row.id} left ${row.status} after the drain`);

    for (const [id, byToken] of leases) {
      const row = byId.get(id);
      const ordered = [...byToken.values()].sort((x, y) => x.token - y.token);
      let previous: Lease | undefined;
      for (const lease of ordered) {
        if (previous !== undefined) {
          if (lease.attempts <= previous.attempts)
            problems.push(`job ${id}: attempts ${previous.attempts} then ${lease.attempts}`);
          const settled = previous.settled;
          if (settled === 'ack' || settled === 'dead')
            problems.push(
              `job ${id}: claimed again (token ${lease.token}) after ${settled} of ${previous.token}`,
            );
          const earliest = typeof settled === 'object' ? settled.retryAt : previous.end;
          if (lease.claimedAt < earliest)
            problems.push(
              `job ${id}: token ${lease.token} claimed at ${lease.claimedAt}, before ${earliest} (token ${previous.token})`,
            );
        }
        previous = lease;
      }
      const last = ordered.at(-1) as Lease;
      if (row === undefined) problems.push(`job ${id}: claimed but not stored`);
      else {
        if (row.token < last.token || row.attempts < last.attempts)
          problems.push(`job ${id}: stored token ${row.token} / attempts ${row.attempts} behind the log`);
        if (last.settled === 'ack' && (row.status !== 'done' || row.token !== last.token))
          problems.push(`job ${id}: acked with token ${last.token}, stored ${row.status} token ${row.token}`);
        if (last.settled === 'dead' && (row.status !== 'dead' || row.token !== last.token))
          problems.push(`job ${id}: dead with token ${last.token}, stored ${row.status} token ${row.token}`);
      }
    }
    console.log(
      [
        `crash-ops test: ${ROUNDS} rounds, seed ${SEED}, lease ${LEASE_MS} ms`,
        ...schedule,
        `pushes acknowledged: ${pushes.size}; rows: ${rows.length}; operations logged: ${JSON.stringify(counts)}`,
      ].join('\n'),
    );
    expect(problems).toEqual([]);
    // Only a test of crash safety if every kind of operation happened and leases were taken over.
    expect(pushes.size).toBeGreaterThan(ROUNDS * 5);
    for (const op of ['ack', 'retry', 'dead', 'extend', 'lost'] as const)
      expect(counts[op]).toBeGreaterThan(0);
  }, 120_000);
});
