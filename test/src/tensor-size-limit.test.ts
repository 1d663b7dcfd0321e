/**
 * A tensor of more than 2^31 - 1 elements is an error at the call that
 * creates it, naming the op and the shape, whether it comes from a creation
 * function or from an op whose result would be that large (it used to run a
 * 1e18-iteration loop).
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';

const LIMIT = 2 ** 31 - 1;

describe('tensors larger than 2^31 - 1 elements', () => {
  it('creation functions refuse them, naming the function and the shape', () => {
    expect(() => lg.zeros([1e9, 1e9])).toThrow(lg.ShapeError);
    expect(() => lg.zeros([1e9, 1e9])).toThrow(
      /zeros: shape \[1000000000,1000000000\] has 1000000000000000000 elements/,
    );
    expect(() => lg.zeros([2 ** 53])).toThrow(/zeros: shape \[9007199254740992\]/);
    expect(() => lg.ones([LIMIT + 1])).toThrow(/ones: /);
    expect(() => lg.full([2 ** 16, 2 ** 16], 1)).toThrow(/full: /);
    expect(() => lg.rand([2 ** 20, 2 ** 20])).toThrow(/rand: /);
    expect(() => lg.randn([2 ** 20, 2 ** 20])).toThrow(/randn: /);
    expect(() => lg.eye(1e5)).toThrow(/eye: /);
    expect(() => lg.arange(0, 1e10)).toThrow(/arange: /);
  });

  it('ops whose result would be that large refuse at the op', () => {
    const one = lg.ones([1]);
    expect(() => one.expand([2 ** 31])).toThrow(/expand: .*\[2147483648\]/);
    expect(() => lg.ones([2 ** 16, 1]).matmul(lg.ones([1, 2 ** 16]))).toThrow(/matmul: .*\[65536,65536\]/);
    expect(() => lg.ones([2 ** 16, 1]).add(lg.ones([2 ** 16]))).toThrow(/add: .*\[65536,65536\]/);
    expect(() => lg.ones([2 ** 16]).pad([[0, 2 ** 31]])).toThrow(/pad: /);
  });

  it('inside jit the op that builds the huge value is named too', () => {
    const f = lg.jit((x: lg.Tensor) => x.expand([2 ** 20, 2 ** 12]).sum());
    expect(() => f(lg.ones([2 ** 12]))).toThrow(/expand: .*\[1048576,4096\]/);
  });

  it('an axis longer than 2^31 - 1 is refused even with zero elements (it would still be looped over)', () => {
    expect(() => lg.zeros([2 ** 40, 0])).toThrow(
      /zeros: shape \[1099511627776,0\] has an axis of length 1099511627776/,
    );
    expect(() => lg.zeros([0]).reshape([0, 2 ** 40])).toThrow(/reshape: /);
    expect(
      lg
        .zeros([2 ** 20, 0])
        .sum()
        .item(),
    ).toBe(0);
  });

  it('large but legal shapes still build lazily', () => {
    expect(lg.zeros([2 ** 15, 2 ** 16 - 1]).shape).toEqual([32768, 65535]);
  });
});
