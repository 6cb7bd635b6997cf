// Round 15 review: the fake clock against Node's timer semantics, where the README says it differs.

import { describe, expect, it } from 'vitest';
import { createFakeClock } from './index';

describe('createFakeClock', () => {
  it('keeps a fractional delay as is, as its README says (Node would fire both at 1 ms, in scheduling order)', async () => {
    const clock = createFakeClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('1.7'), 1.7);
    clock.setTimeout(() => fired.push('1'), 1);
    await clock.advance(1);
    expect(fired).toEqual(['1']);
    await clock.advance(0.7);
    expect(fired).toEqual(['1', '1.7']);
    expect(clock.now()).toBeCloseTo(1.7, 10);
  });
});
