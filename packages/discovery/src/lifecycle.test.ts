/**
 * The registry's lifecycle at its edges: what `ready()` and `refresh()` do after `close()`, and what is left
 * running when `createRegistry()` throws half-way through starting its services.
 */
import { createRegistry, type Snapshot, type Source } from '@integ/discovery';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';

/** A source that never answers; counts lookups and closes. */
function silentSource() {
  const state = { asked: 0, closed: 0 };
  const source: Source = {
    kind: 'silent',
    description: 'never answers',
    open: () => ({
      resolve: () => {
        state.asked++;
        return new Promise<Snapshot>(() => {});
      },
      close: () => {
        state.closed++;
      },
    }),
  };
  return { source, state };
}

const settled = async (promise: Promise<unknown>, flush: () => Promise<void>): Promise<unknown> => {
  let outcome: unknown = 'still pending';
  promise.then(
    () => {
      outcome = 'resolved';
    },
    (error: unknown) => {
      outcome = error;
    },
  );
  await flush();
  return outcome;
};

describe('registry.close()', () => {
  it('makes a later ready() of a service that never answered reject, instead of waiting forever', async () => {
    const clock = createFakeClock();
    const { source } = silentSource();
    const registry = createRegistry({ clock, services: { s: source } });
    registry.close();
    expect(await settled(registry.ready('s'), () => clock.advance(0))).toMatchObject({
      code: 'ERR_NO_ENDPOINTS',
      reason: 'pending',
    });
    expect(await settled(registry.ready(), () => clock.advance(0))).toMatchObject({
      code: 'ERR_NO_ENDPOINTS',
    });
  });

  it('makes a later refresh() reject without asking the closed source again', async () => {
    const clock = createFakeClock();
    const { source, state } = silentSource();
    const registry = createRegistry({ clock, services: { s: source } });
    await clock.advance(0);
    expect(state.asked).toBe(1);
    registry.close();
    expect(await settled(registry.refresh('s'), () => clock.advance(0))).toMatchObject({
      code: 'ERR_NO_ENDPOINTS',
    });
    expect(state.asked).toBe(1);
  });
});

describe('registry.close() during a health check', () => {
  it('clears the check’s timeout timer even when the check ignores its signal and never settles', async () => {
    const clock = createFakeClock();
    let started = 0;
    const registry = createRegistry({
      clock,
      services: { api: { urls: ['http://10.0.0.1:80', 'http://10.0.0.2:80'] } },
      healthCheck: {
        check: () => {
          started++;
          return new Promise<boolean>(() => {});
        },
        timeout: 60_000,
      },
    });
    await clock.advance(0);
    expect(started).toBe(2);
    expect(clock.pendingTimers).toBe(3); // two checks' timeouts and the outlier sweep
    registry.close();
    await clock.advance(0);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('createRegistry() that throws while starting', () => {
  it('stops the services it had already started (no loop, sweep or health-check timer left behind)', async () => {
    const clock = createFakeClock();
    const { source, state } = silentSource();
    const broken: Source = {
      kind: 'broken',
      description: 'throws in open()',
      open: () => {
        throw new Error('cannot open');
      },
    };
    expect(() =>
      createRegistry({
        clock,
        services: {
          a: { urls: ['http://10.0.0.1:80'], healthCheck: { check: async () => true } },
          b: source,
          c: broken,
        },
      }),
    ).toThrow('cannot open');
    await clock.advance(0);
    expect(clock.pendingTimers).toBe(0);
    expect(state.closed).toBe(1);
  });
});

describe('refresh spacing', () => {
  it('keeps minInterval between lookups of a source whose ttlMs is NaN', async () => {
    const clock = createFakeClock();
    let asked = 0;
    const source: Source = {
      kind: 'nan-ttl',
      description: 'answers at once with ttlMs NaN (a TTL parsed from a missing header)',
      open: () => ({
        // Stops answering after 50 lookups, so a hot loop ends and can be counted.
        resolve: () =>
          ++asked > 50
            ? new Promise<Snapshot>(() => {})
            : Promise.resolve({ endpoints: [{ url: 'http://10.0.0.1:80' }], ttlMs: Number.NaN }),
      }),
    };
    const registry = createRegistry({ clock, services: { s: source }, minInterval: 1_000 });
    await clock.advance(10_000);
    expect(asked).toBeLessThanOrEqual(11);
    registry.close();
  });
});

describe('createRegistry() given a source whose open() returns no resolver', () => {
  it('throws InvalidArgumentError naming the service, instead of a service pending forever', () => {
    const clock = createFakeClock();
    for (const opened of [undefined, Promise.resolve({ resolve: async () => ({ endpoints: [] }) }), {}]) {
      const source = { kind: 'mine', description: 'mine', open: () => opened } as unknown as Source;
      let error: unknown;
      try {
        createRegistry({ clock, services: { api: source } }).close();
      } catch (err) {
        error = err;
      }
      expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: 'services.api.source' });
    }
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('a registry never closed', () => {
  it('does not keep the process alive: the refresh timer on the system clock is unref’d, as the sweep and health-check timers are', async () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    try {
      const registry = createRegistry({
        jitter: 0,
        services: {
          s: {
            kind: 'answers',
            description: 'answers at once with a 60 s TTL',
            open: () => ({ resolve: async () => ({ endpoints: [{ url: 'http://a:1' }], ttlMs: 60_000 }) }),
          },
        },
      });
      await registry.ready('s');
      await new Promise((resolve) => setImmediate(resolve));
      const at = spy.mock.calls.findIndex(([, ms]) => ms === 60_000);
      expect(at).toBeGreaterThanOrEqual(0);
      const handle = spy.mock.results[at]?.value as NodeJS.Timeout | undefined;
      expect(handle?.hasRef()).toBe(false);
      registry.close();
    } finally {
      spy.mockRestore();
    }
  });
});
