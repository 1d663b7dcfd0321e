/** Issue 13: an integer JS number next to an int32 tensor that int32 cannot hold is a DTypeError, not a silent wrap. */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';

describe('weakly typed integers next to int32 tensors', () => {
  const i = () => lg.tensor(new Int32Array([1, 2]));
  it('out of range is a DTypeError naming the op and the value', () => {
    expect(() => i().add(3e9)).toThrow(lg.DTypeError);
    expect(() => i().add(3e9)).toThrow(/^add: the number 3000000000 is outside the int32 range/);
    expect(() => i().mul(-(2 ** 31) - 1)).toThrow(/^mul: the number -2147483649 /);
    expect(() => lg.where(lg.tensor([true, false]), i(), 2 ** 31)).toThrow(/^where: the number 2147483648 /);
    expect(() => lg.tensor([true]).add(2 ** 40)).toThrow(lg.DTypeError);
  });
  it('in range, non-integers and float32 operands are unchanged', () => {
    // gpujs holds int32 exactly only below 2^24 (SPEC): the extremes are checked elsewhere.
    const big = lg.getBackend() === 'gpujs' ? 2 ** 24 - 3 : 2 ** 31 - 3;
    expect(i().add(big).toArray()).toEqual([big + 1, big + 2]);
    expect(i().add(-big).toArray()).toEqual([-big + 1, -big + 2]);
    expect(i().add(0.5).toArray()).toEqual([1.5, 2.5]);
    expect(lg.tensor([1]).add(3e9).item()).toBe(Math.fround(3e9 + 1));
    expect(i().cast('float32').add(3e9).toArray()).toEqual([3e9 + 1, 3e9 + 2].map(Math.fround));
  });
});
