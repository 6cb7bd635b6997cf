/**
 * Review round 9: a source's IntegError reaching the caller unmasked (and its code lost across two copies of
 * @integ/core).
 */
import { isIntegError, type Logger, TimeoutError } from '@integ/core';
import { createRegistry, type Source } from '@integ/discovery';
import { describe, expect, it } from 'vitest';

const SECRETS = /hunter2|s3cr3t|user:/;
const leakyUrl = 'https://user:hunter2@registry.internal/v1?token=s3cr3t';

function failing(thrown: unknown): Source {
  return { kind: 'custom', description: 'x', open: () => ({ resolve: () => Promise.reject(thrown) }) };
}

function recorder(): { logger: Logger; lines: unknown[] } {
  const lines: unknown[] = [];
  const log = (...args: unknown[]): void => {
    lines.push(args);
  };
  return { logger: { debug: log, info: log, warn: log, error: log }, lines };
}

const settle = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (err: unknown) => err,
  );

/** What `error` shows: its text, its stack and its own fields (a cause may keep the original, as thrown). */
function shown(error: unknown): string {
  const e = error as Error;
  return JSON.stringify([String(e), e.stack, { ...e, cause: undefined }]);
}

describe('createRegistry, given a source failing with an IntegError that quotes a URL with credentials', () => {
  it('masks it in ready(), refresh(), pick(), inspect() and the log, keeps its code and keeps it as cause', async () => {
    const thrown = new TimeoutError(2000, `GET ${leakyUrl}`);
    const { logger, lines } = recorder();
    const registry = createRegistry({ services: { b: failing(thrown) }, logger });
    try {
      const fromReady = await settle(registry.ready('b'));
      const fromRefresh = await settle(registry.refresh('b'));
      let fromPick: unknown;
      try {
        registry.pick('b');
      } catch (error) {
        fromPick = error;
      }
      for (const error of [fromReady, fromRefresh]) {
        // Before: the TimeoutError itself, 'GET https://user:hunter2@registry.internal/v1?token=s3cr3t timed out ...'.
        expect(isIntegError(error, 'ERR_TIMEOUT')).toBe(true);
        expect((error as Error).message).toBe(
          'GET https://***@registry.internal/v1?*** timed out after 2000 ms; allow more time or make it faster',
        );
        expect((error as TimeoutError).retryable).toBe(true);
        expect((error as Error).cause).toBe(thrown);
        expect(shown(error)).not.toMatch(SECRETS);
      }
      expect(isIntegError(fromPick, 'ERR_NO_ENDPOINTS')).toBe(true);
      expect(shown(fromPick)).not.toMatch(SECRETS);
      expect(shown((fromPick as Error).cause)).not.toMatch(SECRETS);
      const inspection = registry.inspect('b');
      expect(inspection.lastError?.code).toBe('ERR_TIMEOUT');
      expect(JSON.stringify([inspection, lines])).not.toMatch(SECRETS);
      expect((lines[0] as unknown[])[0]).toMatchObject({ code: 'ERR_TIMEOUT' });
    } finally {
      registry.close();
    }
  });

  it('masks it in refresh() too when the registry was closed during the lookup', async () => {
    let fail: (error: unknown) => void = () => {};
    const thrown = new TimeoutError(2000, `GET ${leakyUrl}`);
    const source: Source = {
      kind: 'custom',
      description: 'x',
      open: () => ({
        resolve: () =>
          new Promise((_, reject) => {
            fail = reject;
          }),
      }),
    };
    const registry = createRegistry({ services: { b: source } });
    const refreshed = settle(registry.refresh('b'));
    registry.close();
    fail(thrown);
    const error = await refreshed;
    expect(isIntegError(error, 'ERR_TIMEOUT')).toBe(true);
    expect((error as Error).cause).toBe(thrown);
    expect(shown(error)).not.toMatch(SECRETS);
  });

  it('passes an IntegError with nothing to mask through as thrown', async () => {
    const thrown = new TimeoutError(2000, 'GET https://registry.internal/v1');
    const registry = createRegistry({ services: { b: failing(thrown) } });
    try {
      expect(await settle(registry.ready('b'))).toBe(thrown);
    } finally {
      registry.close();
    }
  });

  it('keeps the code of an IntegError from another copy of @integ/core (the string brand, not instanceof)', async () => {
    // What an error of a second @integ/core copy looks like to this one: the brand, not our prototype.
    const foreign = Object.assign(new Error('quota exceeded'), {
      '@@integ/error': true,
      code: 'ERR_QUOTA',
      retryable: false,
    });
    const masked = Object.assign(new Error(`quota exceeded at ${leakyUrl}`), {
      '@@integ/error': true,
      code: 'ERR_QUOTA',
      retryable: false,
    });
    const { logger, lines } = recorder();
    const registry = createRegistry({ services: { a: failing(foreign), b: failing(masked) }, logger });
    try {
      // Before: wrapped as an unknown failure, ERR_DISCOVERY_SOURCE 'custom: quota exceeded'.
      expect(await settle(registry.ready('a'))).toBe(foreign);
      expect(registry.inspect('a').lastError).toEqual({ code: 'ERR_QUOTA', message: 'quota exceeded' });
      const error = await settle(registry.ready('b'));
      expect(error).toMatchObject({
        code: 'ERR_QUOTA',
        retryable: false,
        message: 'quota exceeded at https://***@registry.internal/v1?***',
        cause: masked,
      });
      expect(shown(error)).not.toMatch(SECRETS);
      expect(lines.map((line) => (line as [{ code: string }])[0].code)).toEqual(['ERR_QUOTA', 'ERR_QUOTA']);
    } finally {
      registry.close();
    }
  });
});
