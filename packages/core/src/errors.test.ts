import {
  abortReason,
  IntegError,
  InvalidArgumentError,
  isAbortError,
  isIntegError,
  linkSignals,
  TimeoutError,
  throwIfAborted,
} from '@integ/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('IntegError', () => {
  it('carries a stable code, the cause and the retryable hint', () => {
    const cause = new Error('socket hang up');
    const error = new IntegError('ERR_UPSTREAM', 'Upstream failed', { cause, retryable: true });
    expect(error.code).toBe('ERR_UPSTREAM');
    expect(error.cause).toBe(cause);
    expect(error.retryable).toBe(true);
    expect(error.name).toBe('IntegError');
    expect(error).toBeInstanceOf(Error);
  });

  it('starts a TimeoutError message with the label the caller gave', () => {
    expect(new TimeoutError(100, 'Attempt 2').message).toBe(
      'Attempt 2 timed out after 100 ms; allow more time or make it faster',
    );
    // a JavaScript caller's label that is no string is printed as is, not a TypeError from the timer
    expect(new TimeoutError(1, 42 as unknown as string).message).toMatch(/^42 timed out/);
  });

  it('names subclasses after the class', () => {
    expect(new TimeoutError(10).name).toBe('TimeoutError');
    expect(new TimeoutError(10).retryable).toBe(true);
  });

  it('lets a subclass or a caller set name, as on any Error (classes are strict code: a bare getter threw)', () => {
    class QuotaError extends IntegError {
      constructor() {
        super('ERR_QUOTA', 'Quota used up');
        this.name = 'QuotaExceeded';
      }
    }
    const quota = new QuotaError();
    expect(quota.name).toBe('QuotaExceeded');
    expect(String(quota)).toBe('QuotaExceeded: Quota used up');
    quota.name = 'Again';
    expect(quota.name).toBe('Again');
    // Only the renamed instance: the class name stays every other instance's, and the keys are unchanged.
    const timeout = new TimeoutError(5);
    timeout.name = 'Renamed';
    expect(timeout.name).toBe('Renamed');
    expect(isIntegError(timeout, 'ERR_TIMEOUT')).toBe(true);
    expect(Object.keys(timeout)).toEqual(Object.keys(new TimeoutError(5)));
    expect(new TimeoutError(5).name).toBe('TimeoutError');
    expect(new QuotaError().code).toBe('ERR_QUOTA');
  });
});

describe('isIntegError', () => {
  it('recognises errors from another copy of the package by their string brand', () => {
    const foreign = Object.assign(new Error('x'), { '@@integ/error': true, code: 'ERR_X' });
    expect(isIntegError(foreign)).toBe(true);
    expect(isIntegError(foreign, 'ERR_X')).toBe(true);
    expect(isIntegError(foreign, 'ERR_Y')).toBe(false);
  });

  it('rejects plain errors and non-objects', () => {
    expect(isIntegError(new Error('x'))).toBe(false);
    expect(isIntegError(null)).toBe(false);
    expect(isIntegError('ERR_X')).toBe(false);
  });
});

describe('InvalidArgumentError', () => {
  it('says which argument, what was expected and what was received', () => {
    const error = new InvalidArgumentError('attempts', 'an integer >= 1', 0);
    expect(error.message).toBe('Invalid attempts: expected an integer >= 1, received 0');
    expect(error.code).toBe('ERR_INVALID_ARGUMENT');
    expect(error.retryable).toBe(false);
  });

  it('shows primitives other than strings, and strings, objects and functions by kind only', () => {
    const received = (value: unknown) =>
      new InvalidArgumentError('x', 'y', value).message.replace('Invalid x: expected y, received ', '');
    expect(received(Number.NaN)).toBe('NaN');
    expect(received(-1)).toBe('-1');
    expect(received(null)).toBe('null');
    expect(received(undefined)).toBe('undefined');
    expect(received(true)).toBe('true');
    expect(received(10n)).toBe('10');
    expect(received('abc')).toBe('a string');
    expect(received('')).toBe('a string');
    expect(received({ password: 'hunter2' })).toBe('an object');
    expect(received(['hunter2'])).toBe('an object');
    expect(received(() => 'hunter2')).toBe('a function');
  });

  it('never prints any part of a string: a URL, a query, a header value or a token given where something else belongs', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.webUrl({ withQueryParameters: true, withFragments: true }),
          fc.constantFrom('postgres://app:s3cr3t@db.internal', 'Bearer s3cr3t', 'api_key=s3cr3t', 's3cr3t'),
        ),
        (value) => {
          expect(new InvalidArgumentError('x', 'y', value).message).toBe(
            'Invalid x: expected y, received a string',
          );
        },
      ),
    );
  });
});

describe('abort helpers', () => {
  it('throwIfAborted throws signal.reason as is', () => {
    const controller = new AbortController();
    const reason = { custom: true };
    controller.abort(reason);
    expect(() => throwIfAborted(controller.signal)).toThrow();
    try {
      throwIfAborted(controller.signal);
    } catch (error) {
      expect(error).toBe(reason);
    }
    expect(abortReason(controller.signal)).toBe(reason);
  });

  it('abortReason keeps a null reason (abort(null)) and the same one on every call', () => {
    const controller = new AbortController();
    controller.abort(null);
    expect(abortReason(controller.signal)).toBeNull();
    let thrown: unknown = 'nothing';
    try {
      throwIfAborted(controller.signal);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeNull();
    const old = { aborted: true, reason: undefined } as unknown as AbortSignal;
    expect(abortReason(old)).toMatchObject({ name: 'AbortError' });
  });

  it('isAbortError recognises AbortError by name and by the signal reason', () => {
    const controller = new AbortController();
    controller.abort('why');
    expect(isAbortError('why', controller.signal)).toBe(true);
    expect(isAbortError(new DOMException('x', 'AbortError'))).toBe(true);
    expect(isAbortError(new Error('x'))).toBe(false);
  });

  it('linkSignals follows the first source to abort and detaches on dispose', () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = linkSignals(a.signal, undefined, b.signal);
    b.abort('b');
    expect(linked.signal.reason).toBe('b');
    a.abort('a');
    expect(linked.signal.reason).toBe('b');

    const c = new AbortController();
    const other = linkSignals(c.signal);
    other.dispose();
    c.abort('late');
    expect(other.signal.aborted).toBe(false);
  });

  it('linkSignals is aborted at once when a source already is', () => {
    const a = new AbortController();
    a.abort('early');
    expect(linkSignals(a.signal).signal.reason).toBe('early');
  });
});
