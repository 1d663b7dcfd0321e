/** Issue 13: tensors print their values like PyTorch (toString and util.inspect); traced tensors their type only. */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';

describe('printing tensors', () => {
  it('small tensors print every value with the dtype', () => {
    expect(
      String(
        lg.tensor([
          [1, 2],
          [3, 4],
        ]),
      ),
    ).toBe('tensor([[1, 2], [3, 4]], dtype=float32)');
    expect(lg.tensor([0.5, -0.25]).toString()).toBe('tensor([0.5, -0.25], dtype=float32)');
    expect(String(lg.tensor(new Int32Array([7])).reshape([]))).toBe('tensor(7, dtype=int32)');
    expect(String(lg.tensor([true, false]))).toBe('tensor([true, false], dtype=bool)');
    expect(String(lg.tensor([NaN, -Infinity]))).toBe('tensor([NaN, -Infinity], dtype=float32)');
  });

  it('a lazy tensor is realised to print', () => {
    expect(String(lg.tensor([1, 2]).mul(3))).toBe('tensor([3, 6], dtype=float32)');
  });

  it('console.log / util.inspect show the values, not internals', () => {
    const s = inspect(
      lg.tensor([
        [1, 2],
        [3, 4],
      ]),
    );
    expect(s).toBe('tensor([[1, 2], [3, 4]], dtype=float32)');
    expect(inspect({ w: lg.tensor([1]) })).toBe('{ w: tensor([1], dtype=float32) }');
    expect(s).not.toMatch(/_value|_autogradValue/);
  });

  it('long rows go one per line; large tensors are summarised with ...', () => {
    expect(String(lg.arange(0, 24).reshape([2, 3, 4]))).toBe(
      [
        'tensor([[[0, 1, 2, 3],',
        '         [4, 5, 6, 7],',
        '         [8, 9, 10, 11]],',
        '        [[12, 13, 14, 15],',
        '         [16, 17, 18, 19],',
        '         [20, 21, 22, 23]]], dtype=int32)',
      ].join('\n'),
    );
    expect(String(lg.arange(0, 2000))).toBe('tensor([0, 1, 2, ..., 1997, 1998, 1999], dtype=int32)');
    expect(String(lg.arange(0, 2000).reshape([2, 1000]))).toBe(
      [
        'tensor([[0, 1, 2, ..., 997, 998, 999],',
        '        [1000, 1001, 1002, ..., 1997, 1998, 1999]], dtype=int32)',
      ].join('\n'),
    );
  });

  it('a traced tensor prints its type only; so do disposed ones', () => {
    const seen: string[] = [];
    lg.jit((x: lg.Tensor) => {
      seen.push(String(x), inspect(x.add(1)));
      return x;
    })(lg.ones([2, 3]));
    lg.grad((x: lg.Tensor) => {
      seen.push(String(x));
      return x.sum();
    })(lg.ones([2]));
    expect(seen).toEqual(['Tensor(traced float32[2,3])', 'Tensor(traced float32[2,3])', 'Tensor(traced float32[2])']);
    const t = lg.ones([2]);
    t.dispose();
    expect(String(t)).toBe('Tensor(disposed float32[2])');
  });
});
