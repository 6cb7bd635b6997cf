import { trackUnhandledRejections } from '@integ/testing';
import { describe, expect, it } from 'vitest';

// The test runner counts an unhandled rejection as an error of the run: this test makes some on purpose, so it
// takes the runner's listeners off meanwhile. Should the tracker miss one, no listener is left and Node raises
// it as an uncaught exception, which fails the run too.
async function withoutRunnerListeners(body: () => Promise<void>): Promise<void> {
  const runner = process.listeners('unhandledRejection');
  process.removeAllListeners('unhandledRejection');
  try {
    await body();
  } finally {
    for (const listener of runner) process.on('unhandledRejection', listener);
  }
}

describe('trackUnhandledRejections', () => {
  it('records a rejection nobody handled, by the time settled() resolves', async () => {
    await withoutRunnerListeners(async () => {
      const unhandled = trackUnhandledRejections();
      const reason = new Error('nobody caught me');
      void Promise.reject(reason);
      expect(await unhandled.settled()).toEqual([reason]);
      unhandled.stop();
    });
  });

  it('records nothing for a handled rejection, nor after stop()', async () => {
    await withoutRunnerListeners(async () => {
      const first = trackUnhandledRejections();
      Promise.reject(new Error('handled')).catch(() => {});
      expect(await first.settled()).toEqual([]);
      first.stop();
      first.stop();
      const second = trackUnhandledRejections();
      const reason = new Error('after stop');
      void Promise.reject(reason);
      expect(await second.settled()).toEqual([reason]);
      second.stop();
      expect(first.reasons).toEqual([]);
      expect(process.listenerCount('unhandledRejection')).toBe(0);
    });
  });
});
