/**
 * Round 15: a fresh black-box reading of the issue, the README and the standard.
 */
import { getEventListeners } from 'node:events';
import { connect } from '@integ/sse';
import { describe, expect, it } from 'vitest';

describe('connect() refusing an option', () => {
  it('leaves no abort listener on the signal it was given (a bad maxEventSize is checked last)', () => {
    const controller = new AbortController();
    for (const maxEventSize of [0, Number.NaN, -1]) {
      expect(() => connect('https://example.test/live', { signal: controller.signal, maxEventSize })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'maxEventSize' }),
      );
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
