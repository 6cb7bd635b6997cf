/**
 * Contention test: three processes, four claim loops each, on one SQLite file. Leases are short and some jobs are
 * abandoned or acked late, so leases expire and are taken over across processes while claims and acks of one
 * process share group commits. Afterwards, per job: the tokens handed out are exactly 1..n (every claim got a
 * new, higher one; none went to two holders), exactly one ack applied and it carried the last token, and every
 * ack with an older token was refused with ERR_LEASE_LOST.
 *
 * Like the crash test, the children run a bundle of the sources built in beforeAll (decision 0031).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createQueue } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleQueueSources } from './bundle.js';

const here = fileURLToPath(new URL('.', import.meta.url));
let bundle = '';
const JOBS = 300;
const WORKERS = 3;

const dir = mkdtempSync(join(tmpdir(), 'integ-queue-contention-'));
const dbPath = join(dir, 'contention.db');
const children = new Set<ChildProcess>();

beforeAll(async () => {
  bundle = await bundleQueueSources('contention-test');
}, 60_000);

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function run(worker: number): Promise<number | null> {
  const child = fork(join(here, 'contention', 'worker.mjs'), [], {
    env: {
      ...process.env,
      QUEUE_BUNDLE: bundle,
      DB_PATH: dbPath,
      LOG: join(dir, `worker-${worker}.log`),
      SEED: String(20261124 + worker),
      WORKER: String(worker),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
}

describe('several processes claiming from one sqlite file', () => {
  it('hands each token of a job to one holder, in order, and applies exactly one ack: the last holder’s', async () => {
    const store = sqliteStore({ path: dbPath });
    const queue = createQueue({ name: 'contention', store, attempts: 1000 });
    const pushed = await queue.pushMany(Array.from({ length: JOBS }, (_, i) => i));
    await store.close();

    const codes = await Promise.all(Array.from({ length: WORKERS }, (_, w) => run(w)));
    expect(codes).toEqual(Array.from({ length: WORKERS }, () => 0));

    const claims = new Map<string, number[]>();
    const acks = new Map<string, number[]>();
    const refused: string[] = [];
    for (let w = 0; w < WORKERS; w++)
      for (const line of readFileSync(join(dir, `worker-${w}.log`), 'utf8')
        .split('\n')
        .filter(Boolean)) {
        const [kind, id, token, detail] = line.split(' ') as [string, string, string, string];
        const into = kind === 'claim' ? claims : kind === 'ack' ? acks : undefined;
        if (into !== undefined) into.set(id, [...(into.get(id) ?? []), Number(token)]);
        else if (detail !== 'ERR_LEASE_LOST') refused.push(line);
      }

    const check = sqliteStore({ path: dbPath });
    const rows = await check.list('contention', { limit: JOBS + 1 });
    await check.close();
    expect(rows.length).toBe(JOBS);
    const problems: string[] = [...refused];
    let takenOver = 0;
    for (const job of pushed) {
      const tokens = (claims.get(job.id) ?? []).sort((a, b) => a - b);
      const row = rows.find((r) => r.id === job.id);
      if (tokens.length > 1) takenOver += 1;
      if (tokens.join() !== Array.from({ length: tokens.length }, (_, i) => i + 1).join())
        problems.push(`${job.id}: tokens ${tokens.join()}`);
      const applied = acks.get(job.id) ?? [];
      if (applied.length !== 1 || applied[0] !== tokens.at(-1))
        problems.push(`${job.id}: acks applied with tokens [${applied.join()}], last token ${tokens.at(-1)}`);
      if (row?.status !== 'done' || row.token !== tokens.at(-1))
        problems.push(`${job.id}: ${row?.status} with token ${row?.token}`);
    }
    expect(problems).toEqual([]);
    // The run is only a test of contention if leases were actually taken over across holders.
    expect(takenOver).toBeGreaterThan(JOBS / 10);
  }, 60_000);
});
