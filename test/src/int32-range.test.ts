/**
 * Values given for an int32 tensor must be integers in [-2^31, 2^31 - 1]:
 * anything else is an error naming the value, never a silent wrap or
 * truncation (a float tensor's `cast('int32')` is the way to truncate).
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';

describe('int32 values out of range', () => {
  it('tensor([3e9], {dtype: int32}) is an error naming the value and the range', () => {
    expect(() => lg.tensor([3e9], { dtype: 'int32' })).toThrow(lg.LazygradError);
    expect(() => lg.tensor([3e9], { dtype: 'int32' })).toThrow(/3000000000 .*int32 range/);
    expect(() => lg.tensor([[1], [-(2 ** 31) - 1]], { dtype: 'int32' })).toThrow(/at index 1/);
  });

  it('non-integers and non-finite values for int32 are errors', () => {
    for (const v of [1.5, NaN, Infinity, -Infinity])
      expect(() => lg.tensor([0, v], { dtype: 'int32' })).toThrow(/not an integer|int32 range/);
    expect(() => lg.tensor(2.5, { dtype: 'int32' })).toThrow(/2\.5 .*not an integer/);
  });

  it('typed arrays converted to int32 are checked too', () => {
    expect(() => lg.tensor(new Float64Array([3e9]), { dtype: 'int32' })).toThrow(/int32 range/);
    expect(() => lg.tensor(new Float32Array([0.5]), { dtype: 'int32' })).toThrow(/not an integer/);
    expect(() => lg.tensor(new Uint32Array([2 ** 31]), { dtype: 'int32' })).toThrow(/int32 range/);
  });

  it('the extremes of the range are kept exactly', () => {
    const t = lg.tensor([-(2 ** 31), 2 ** 31 - 1, 0], { dtype: 'int32' });
    expect(t.toArray()).toEqual([-2147483648, 2147483647, 0]);
    expect(lg.tensor(new Int32Array([-5, 7])).toArray()).toEqual([-5, 7]);
    expect(lg.tensor(new Float64Array([-3, 4]), { dtype: 'int32' }).toArray()).toEqual([-3, 4]);
  });

  it('full / zeros / ones with an int32 value out of range or fractional are errors', () => {
    expect(() => lg.full([2], 3e9, { dtype: 'int32' })).toThrow(/full: .*3000000000 .*int32 range/);
    expect(() => lg.full([2], 1.5, { dtype: 'int32' })).toThrow(/full: .*1\.5 .*not an integer/);
    // gpujs holds int32 exactly only below 2^24 (SPEC): the extremes are read back on the others.
    if (lg.getBackend() !== 'gpujs')
      expect(lg.full([2], 2 ** 31 - 1, { dtype: 'int32' }).toArray()).toEqual([2147483647, 2147483647]);
  });

  it('arange with integer bounds beyond int32 is an error', () => {
    expect(() => lg.arange(3e9, 3e9 + 2)).toThrow(/arange: .*int32 range/);
    expect(() => lg.arange(2 ** 31 - 2, 2 ** 31 + 1)).toThrow(/arange: .*int32 range/);
    if (lg.getBackend() !== 'gpujs')
      expect(lg.arange(2 ** 31 - 3, 2 ** 31 - 1).toArray()).toEqual([2147483645, 2147483646]);
  });

  it('other typed-array kinds that cannot become tensors are errors, not TypeErrors', () => {
    expect(() => lg.tensor(new BigInt64Array([1n]) as never)).toThrow(lg.LazygradError);
    expect(() => lg.tensor(new DataView(new ArrayBuffer(4)) as never)).toThrow(lg.LazygradError);
  });
});
