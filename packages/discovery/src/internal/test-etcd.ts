/**
 * Test helper: starts a throwaway etcd (Debian's etcd-server) on random loopback ports with a temp
 * data dir, and talks to its v3 JSON gateway. Not exported.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function etcdAvailable(): boolean {
  const result = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
  return result.status === 0;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

export interface TestEtcd {
  readonly url: string;
  put(key: string, value: string): Promise<void>;
  del(key: string): Promise<void>;
  compact(): Promise<void>;
  stop(): Promise<void>;
}

export async function startEtcd(): Promise<TestEtcd> {
  const dir = mkdtempSync(join(tmpdir(), 'integ-etcd-'));
  const client = await freePort();
  const peer = await freePort();
  const url = `http://127.0.0.1:${client}`;
  const child: ChildProcess = spawn(
    'etcd',
    [
      '--name',
      'test',
      '--data-dir',
      dir,
      '--listen-client-urls',
      url,
      '--advertise-client-urls',
      url,
      '--listen-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-cluster',
      `test=http://127.0.0.1:${peer}`,
      '--log-level',
      'error',
    ],
    { stdio: 'ignore' },
  );
  const post = async (path: string, body: unknown): Promise<{ header?: { revision?: string } }> => {
    const response = await fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`etcd ${path}: HTTP ${response.status}`);
    return (await response.json()) as { header?: { revision?: string } };
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await post('/v3/kv/range', { key: b64('/') });
      break;
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`etcd did not start: ${String(error)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    async put(key, value) {
      await post('/v3/kv/put', { key: b64(key), value: b64(value) });
    },
    async del(key) {
      await post('/v3/kv/deleterange', { key: b64(key) });
    },
    async compact() {
      const range = await post('/v3/kv/range', { key: b64('/') });
      const revision = range.header?.revision;
      await post('/v3/kv/compaction', { revision, physical: true });
    },
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
