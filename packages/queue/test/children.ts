/**
 * Child processes of the crash tests: fork a script of `crash/` with an IPC channel, know when it is ready (its
 * first message) and when it exited, and keep it in `children` until then so afterAll can SIGKILL what is left.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const crashDir = fileURLToPath(new URL('crash', import.meta.url));

export interface Child {
  child: ChildProcess;
  ready: Promise<void>;
  exited: Promise<number | null>;
}

export function forkChild(children: Set<ChildProcess>, script: string, env: NodeJS.ProcessEnv): Child {
  const child = fork(join(crashDir, script), [], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  const ready = new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  ready.catch(() => {});
  return { child, ready, exited };
}

export const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
