import { describe, it, expect } from 'vitest';
import * as lg from '../../src/index';

/**
 * Runs `fn` (which must contain only the offending call: operands are built
 * beforehand) and checks that it throws a LazygradError at once, that no
 * TypeError/RangeError escaped, and that the message matches every pattern.
 */
function expectLgError(fn: () => unknown, ...patterns: RegExp[]): Error {
  let err: unknown = undefined;
  let threw = false;
  try {
    fn();
  } catch (e) {
    threw = true;
    err = e;
  }
  expect(threw, 'expected the call itself to throw (not later, at realisation)').toBe(true);
  const name = err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err);
  expect(err instanceof lg.LazygradError, `expected a LazygradError, got ${name}`).toBe(true);
  expect(err instanceof TypeError, `a TypeError escaped: ${name}`).toBe(false);
  expect(err instanceof RangeError, `a RangeError escaped: ${name}`).toBe(false);
  const msg = (err as Error).message;
  expect(typeof msg).toBe('string');
  expect(msg.length).toBeGreaterThan(0);
  for (const p of patterns) expect(msg, `message ${JSON.stringify(msg)}`).toMatch(p);
  return err as Error;
}

const f32 = (shape: number[]) => lg.zeros(shape);

describe('LazygradError', () => {
  it('is exported and is an Error subclass', () => {
    expect(typeof lg.LazygradError).toBe('function');
    const e = (() => {
      try {
        f32([2, 3]).add(f32([4]));
      } catch (x) {
        return x;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(Error);
    expect(e).toBeInstanceOf(lg.LazygradError);
  });
});

describe('broadcast shape mismatch in binary ops', () => {
  const a = () => f32([2, 3]);
  const b = () => f32([4]);
  for (const op of ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'lt', 'le', 'gt', 'ge', 'eq', 'ne']) {
    it(`${op} [2,3] with [4]`, () => {
      const x = a();
      const y = b();
      expectLgError(() => (x as any)[op](y), new RegExp(op, 'i'), /2\D+3/, /4/);
    });
  }
  it('add [2,3,5] with [3,4] names both shapes', () => {
    const x = f32([2, 3, 5]);
    const y = f32([3, 4]);
    expectLgError(() => x.add(y), /add/i, /2\D+3\D+5/, /3\D+4/);
  });
  it('mismatch is reported at the call even for lazy operands', () => {
    const x = f32([2, 3]).exp().mul(2);
    const y = f32([3, 2]).add(1);
    expectLgError(() => x.sub(y), /sub/i, /2\D+3/, /3\D+2/);
  });
  it('where with incompatible shapes', () => {
    const c = lg.zeros([2, 3], { dtype: 'bool' });
    const x = f32([4]);
    const y = f32([2, 3]);
    expectLgError(() => lg.where(c, x, y), /where/i, /2\D+3/, /4/);
  });
});

describe('matmul', () => {
  it('inner-dimension mismatch', () => {
    const x = f32([2, 3]);
    const y = f32([4, 5]);
    expectLgError(() => x.matmul(y), /matmul|dot/i, /2\D+3/, /4\D+5/);
  });
  it('1-D inner mismatch', () => {
    const x = f32([3]);
    const y = f32([4]);
    expectLgError(() => x.matmul(y), /matmul|dot/i, /3/, /4/);
  });
  it('batch dims that do not broadcast', () => {
    const x = f32([2, 3, 4]);
    const y = f32([3, 4, 5]);
    expectLgError(() => x.matmul(y), /matmul|dot/i, /2\D+3\D+4/, /3\D+4\D+5/);
  });
  it('0-d operand', () => {
    const x = f32([]);
    const y = f32([3, 4]);
    expectLgError(() => x.matmul(y), /matmul|dot/i);
  });
});

describe('bad axis', () => {
  const x = () => f32([2, 3]);
  it('sum axis 2 of a rank-2 tensor', () => {
    const t = x();
    expectLgError(() => t.sum(2), /sum/i, /2/);
  });
  it('sum axis -3 of a rank-2 tensor', () => {
    const t = x();
    expectLgError(() => t.sum(-3), /sum/i, /-3/);
  });
  it('sum with an axis list containing a bad axis', () => {
    const t = x();
    expectLgError(() => t.sum([0, 5]), /sum/i, /5/);
  });
  it('mean / max / min bad axis', () => {
    const t = x();
    expectLgError(() => t.mean(3), /mean|sum/i, /3/);
    expectLgError(() => t.max(2), /max/i, /2/);
    expectLgError(() => t.min(-4), /min/i, /-4/);
  });
  it('softmax / logSoftmax / logsumexp bad axis', () => {
    const t = x();
    expectLgError(() => t.softmax(2), /softmax|max/i, /2/);
    expectLgError(() => t.logSoftmax(-3), /softmax|max/i, /-3/);
    expectLgError(() => t.logsumexp(5), /logsumexp|max/i, /5/);
  });
  it('argmax bad axis', () => {
    const t = x();
    expectLgError(() => t.argmax(2), /argmax|max/i, /2/);
  });
  it('squeeze bad axis', () => {
    const t = f32([1, 3]);
    expectLgError(() => t.squeeze(2), /squeeze/i, /2/);
    expectLgError(() => t.squeeze(-3), /squeeze/i, /-3/);
  });
  it('unsqueeze bad axis (valid range is -3..2 for rank 2)', () => {
    const t = x();
    expectLgError(() => t.unsqueeze(3), /unsqueeze/i, /3/);
    expectLgError(() => t.unsqueeze(-4), /unsqueeze/i, /-4/);
  });
  it('concat / stack bad axis', () => {
    const a = x();
    const b = x();
    expectLgError(() => lg.concat([a, b], 2), /concat/i, /2/);
    expectLgError(() => lg.stack([a, b], 3), /stack|unsqueeze|concat/i, /3/);
  });
});

describe('squeeze of a non-1 axis', () => {
  it('squeeze(0) of [2,3]', () => {
    const t = f32([2, 3]);
    expectLgError(() => t.squeeze(0), /squeeze/i, /2\D+3/);
  });
  it('squeeze(-1) of [1,3]', () => {
    const t = f32([1, 3]);
    expectLgError(() => t.squeeze(-1), /squeeze/i, /1\D+3/);
  });
});

describe('reshape', () => {
  it('wrong size', () => {
    const t = f32([2, 3]);
    expectLgError(() => t.reshape([4, 2]), /reshape/i, /2\D+3/, /4\D+2/);
  });
  it('wrong size from a lazy expression', () => {
    const t = f32([2, 3]).add(1);
    expectLgError(() => t.reshape([7]), /reshape/i, /2\D+3/, /7/);
  });
  it('two -1', () => {
    const t = f32([2, 3]);
    expectLgError(() => t.reshape([-1, -1]), /reshape/i, /-1/);
  });
  it('-1 that cannot be inferred', () => {
    const t = f32([2, 3]);
    expectLgError(() => t.reshape([-1, 4]), /reshape/i, /2\D+3/);
  });
  it('negative size other than -1', () => {
    const t = f32([2, 3]);
    expectLgError(() => t.reshape([-2, -3]), /reshape/i);
  });
});

describe('bad permutation', () => {
  const t = () => f32([2, 3, 4]);
  it('repeated axis', () => {
    const x = t();
    expectLgError(() => x.transpose([0, 0, 1]), /transpose|permute/i, /0\D+0\D+1/);
  });
  it('too short', () => {
    const x = t();
    expectLgError(() => x.transpose([1, 0]), /transpose|permute/i, /1\D+0/);
  });
  it('out of range', () => {
    const x = t();
    expectLgError(() => x.transpose([0, 1, 3]), /transpose|permute/i, /0\D+1\D+3/);
  });
});

describe('slice', () => {
  it('step 0', () => {
    const x = f32([2, 3]);
    expectLgError(() => x.slice([0, 0], [2, 3], [1, 0]), /slice/i, /step/i);
  });
});

describe('expand / pad / concat / stack shape errors', () => {
  it('expand to an incompatible shape', () => {
    const x = f32([2, 3]);
    expectLgError(() => x.expand([4, 3]), /expand/i, /2\D+3/, /4\D+3/);
  });
  it('pad with the wrong number of pairs', () => {
    const x = f32([2, 3]);
    expectLgError(() => x.pad([[1, 1]]), /pad/i);
  });
  it('concat of mismatched shapes', () => {
    const a = f32([2, 3]);
    const b = f32([2, 4]);
    expectLgError(() => lg.concat([a, b], 0), /concat/i, /2\D+3/, /2\D+4/);
  });
  it('concat of different ranks', () => {
    const a = f32([2, 3]);
    const b = f32([3]);
    expectLgError(() => lg.concat([a, b], 0), /concat/i, /2\D+3/);
  });
  it('stack of mismatched shapes', () => {
    const a = f32([2, 3]);
    const b = f32([3, 2]);
    expectLgError(() => lg.stack([a, b], 0), /stack|concat/i, /2\D+3/, /3\D+2/);
  });
  it('conv2d channel mismatch', () => {
    const x = f32([1, 3, 5, 5]);
    const w = f32([2, 4, 3, 3]);
    expectLgError(() => lg.conv2d(x, w));
  });
});

describe('tensor() from bad nested arrays', () => {
  it('ragged nested array', () => {
    expectLgError(() => lg.tensor([[1, 2], [3]]));
  });
  it('ragged at depth', () => {
    expectLgError(() =>
      lg.tensor([
        [[1], [2]],
        [[3], [4, 5]],
      ]),
    );
  });
  it('mixed depth (number next to array)', () => {
    expectLgError(() => lg.tensor([[1, 2], 3] as any));
  });
  it('non-numeric entries', () => {
    expectLgError(() => lg.tensor([1, 'a'] as any));
    expectLgError(() =>
      lg.tensor([
        [1, 2],
        [3, null],
      ] as any),
    );
    expectLgError(() => lg.tensor([1, undefined] as any));
    expectLgError(() => lg.tensor([{}, 2] as any));
  });
  it('non-numeric scalar', () => {
    expectLgError(() => lg.tensor('3' as any));
  });
});

describe('dtype misuse', () => {
  it('unknown dtype names', () => {
    expectLgError(() => lg.zeros([2], { dtype: 'float64' as any }), /float64/);
    expectLgError(() => lg.tensor([1, 2], { dtype: 'int8' as any }), /int8/);
    const t = f32([2]);
    expectLgError(() => t.cast('complex64' as any), /complex64/);
  });
});

describe('creation misuse', () => {
  it('negative or fractional dimension', () => {
    expectLgError(() => lg.zeros([2, -1]), /-1/);
    expectLgError(() => lg.ones([2.5]), /2\.5/);
  });
  it('arange with step 0', () => {
    expectLgError(() => lg.arange(0, 5, 0), /arange/i);
  });
});

describe('settings', () => {
  it('unknown backend name', () => {
    const before = lg.getBackend();
    expectLgError(() => lg.setBackend('nosuchbackend' as any), /nosuchbackend/);
    expect(lg.getBackend()).toBe(before);
  });
});

describe('item()', () => {
  it('on more than one element', () => {
    const t = f32([2, 3]);
    expectLgError(() => t.item(), /item/i, /2\D+3/);
  });
  it('on a 1-D tensor of two elements', () => {
    const t = lg.tensor([1, 2]);
    expectLgError(() => t.item(), /item/i, /2/);
  });
});

describe('disposed tensors', () => {
  it('reading a disposed tensor', () => {
    const t = lg.tensor([1, 2, 3]);
    t.realize();
    t.dispose();
    expectLgError(() => t.toArray(), /dispos/i);
    expectLgError(() => t.dataSync(), /dispos/i);
    expectLgError(() => t.item(), /dispos/i);
  });
  it('building on a disposed tensor', () => {
    const t = lg.tensor([1, 2, 3]);
    t.dispose();
    expectLgError(() => t.add(1), /dispos/i);
    const u = lg.tensor([4, 5, 6]);
    expectLgError(() => u.mul(t), /dispos/i);
  });
  it('data() of a disposed tensor rejects (or throws) with a LazygradError', async () => {
    const t = lg.tensor([1, 2, 3]);
    t.dispose();
    let err: unknown;
    try {
      await t.data();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(lg.LazygradError);
    expect((err as Error).message).toMatch(/dispos/i);
  });
  it('disposing does not affect other tensors', () => {
    const t = lg.tensor([1, 2, 3]);
    const u = t.add(1);
    u.realize();
    t.dispose();
    expect(u.toArray()).toEqual([2, 3, 4]);
  });
});

describe('optimisers, schedules and transforms', () => {
  it('bad options name the call, the option and what was given', () => {
    expectLgError(() => lg.optim.adamw({ lr: -1 }), /^optim\.adamw: option lr must be a positive number/, /got -1/);
    expectLgError(() => lg.optim.adamw({ lr: 0.1, weightDecay: -0.1 }), /optim\.adamw: option weightDecay .*-0\.1/);
    expectLgError(() => lg.optim.rmsprop({ lr: 0.1, decay: '0.9' as any }), /optim\.rmsprop: option decay must be/);
    expectLgError(() => lg.optim.rmsprop({ lr: 0.1, epsInSqrt: 1 as any }), /option epsInSqrt must be true or false/);
    expectLgError(() => lg.optim.rmsprop({ lr: 'fast' as any }), /optim\.rmsprop: option lr .*the string "fast"/);
  });
  it('a schedule returning a non-scalar fails when the optimiser is made', () => {
    const bad = () => lg.ones([2]);
    expectLgError(
      () => lg.optim.adam({ lr: bad }),
      /^optim\.adam: the learning-rate schedule returned a tensor float32\[2\]/,
    );
    expectLgError(
      () => lg.optim.sgd({ lr: () => 'x' as any }),
      /^optim\.sgd: the learning-rate schedule returned the string/,
    );
  });
  it('schedule arguments are checked', () => {
    expectLgError(
      () => lg.optim.schedules.cosine(0.1, 0),
      /^optim\.schedules\.cosine: steps must be a positive integer, got 0/,
    );
    expectLgError(
      () => lg.optim.schedules.linear(-1, 0, 10),
      /^optim\.schedules\.linear: from must be a finite number >= 0/,
    );
    expectLgError(() => lg.optim.schedules.warmupCosine(1, 10, 10), /steps \(10\) must be greater than warmup \(10\)/);
    expectLgError(
      () => lg.optim.schedules.constant(0.1)(lg.ones([3]) as any),
      /the step must be a number or a 0-d tensor/,
    );
  });
  it('clipByGlobalNorm and chain check their arguments', () => {
    expectLgError(
      () => lg.optim.clipByGlobalNorm(0),
      /^optim\.clipByGlobalNorm: maxNorm must be a positive finite number, got 0/,
    );
    const adam = lg.optim.adam({ lr: 0.1 });
    const clip = lg.optim.clipByGlobalNorm(1);
    expectLgError(() => lg.optim.chain(), /^optim\.chain: expected gradient transforms followed by an optimiser/);
    expectLgError(() => lg.optim.chain(clip), /last argument must be an optimiser .*optim\.clipByGlobalNorm/);
    expectLgError(() => lg.optim.chain(adam, clip), /argument 0 is an optimiser, which must come last/);
    expectLgError(() => lg.optim.chain(5 as any, adam), /argument 0 must be a gradient transform or an optimiser/);
    const opt = lg.optim.chain(clip, adam);
    const p = { w: f32([2]) };
    const g = { w: f32([2]) };
    expectLgError(() => opt.update(g, [null], p), /^optim\.chain\.update: state must be the array of 2 states/);
    const s = opt.init(p);
    expectLgError(() => clip.update(g, {} as any, p), /^optim\.clipByGlobalNorm\.update: state must be null/);
    expect(() => opt.update(g, s, p)).not.toThrow();
  });
});

describe('checkpoints', () => {
  it('malformed bytes and mismatched templates are errors naming the call', () => {
    const bytes = lg.toSafetensors({ w: f32([2, 3]) });
    const truncated = bytes.subarray(0, bytes.length - 1);
    expectLgError(() => lg.fromSafetensors(truncated), /^fromSafetensors: .*truncated/);
    const template = { w: f32([3, 2]) };
    expectLgError(
      () => lg.fromSafetensors(bytes, template),
      /^fromSafetensors: w has shape \[2,3\] in the file but \[3,2\]/,
    );
    expectLgError(() => lg.toSafetensors(f32([2])), /^toSafetensors: expected a tree/);
  });
});

describe('take / gather / nn.embedding', () => {
  const x = f32([4, 3]);
  const ids = lg.tensor([0, 2], { dtype: 'int32' });
  it('float or bool indices are a DTypeError naming the op', () => {
    const fl = lg.tensor([0, 1]);
    const bl = lg.tensor([true, false]);
    const e = expectLgError(() => lg.take(x, fl, 0), /^take: indices must be an int32 tensor, got float32\[2\]/);
    expect(e).toBeInstanceOf(lg.DTypeError);
    expectLgError(() => x.gather(0, bl.reshape([2, 1])), /^gather: indices must be an int32 tensor, got bool/);
    expectLgError(() => lg.take(x, 1.5 as any, 0), /^take: indices must be an int32 tensor or an integer, got 1.5/);
  });
  it('a bad axis is a ShapeError naming the op and the rank', () => {
    expect(expectLgError(() => lg.take(x, ids, 2), /^take: axis 2 is out of range .* rank 2/)).toBeInstanceOf(
      lg.ShapeError,
    );
    expectLgError(() => lg.take(x, ids, -3), /^take: axis -3 is out of range/);
    expectLgError(() => lg.take(x, ids, 0.5), /^take: axis 0.5 is not an integer/);
    expectLgError(() => x.gather(2, ids.reshape([2, 1])), /^gather: axis 2 is out of range/);
    expectLgError(() => lg.take(lg.tensor(1), ids, 0), /^take: axis 0 is out of range: a 0-d tensor has no axes/);
  });
  it('gather indices of another rank, or that do not broadcast, are ShapeErrors', () => {
    expectLgError(() => x.gather(1, ids), /^gather: indices int32\[2\] must have the rank of x float32\[4,3\]/);
    const wide = lg.zeros([3, 2], { dtype: 'int32' });
    expectLgError(() => x.gather(1, wide), /^gather: indices int32\[3,2\] and x float32\[4,3\] do not broadcast/);
  });
  it('realised out-of-range indices name the op, the index and the axis length', () => {
    const bad = lg.tensor([1, 4], { dtype: 'int32' });
    expectLgError(
      () => lg.take(x, bad, 0),
      /^take: index 4 at flat position 1 .* axis 0 of length 4 .*-4 <= index < 4/,
    );
    expectLgError(() => lg.take(x, -4, 1), /^take: index -4 is out of range for axis 1 of length 3/);
    expectLgError(() => x.gather(0, bad.reshape([2, 1])), /^gather: index 4 .* axis 0 of length 4/);
    expectLgError(() => lg.take(lg.zeros([0, 3]), 0, 0), /^take: index 0 is out of range for axis 0 of length 0/);
  });
  it('nn.embedding checks its table and ids', () => {
    const p = lg.nn.init.embedding(4, 3);
    expectLgError(() => lg.nn.embedding(p, lg.tensor([0.5])), /^nn\.embedding: token ids must be int32/);
    expectLgError(() => lg.nn.embedding({ w: f32([4]) }, ids), /^nn\.embedding: the table w must be 2-D/);
    expectLgError(() => lg.nn.embedding({} as any, ids), /^nn\.embedding: expected parameters \{w\}/);
    expectLgError(
      () => lg.nn.embedding(p, lg.tensor([5], { dtype: 'int32' })),
      /^nn\.embedding: index 5 .* axis 0 of length 4/,
    );
    expectLgError(() => lg.nn.init.embedding(0, 3), /^nn\.init\.embedding: vocab must be a positive integer/);
  });
});

describe('ops and layers of issue 15: bad arguments name the op and what it expected', () => {
  const x = f32([2, 3]);
  it('bad axes', () => {
    expectLgError(() => x.var(2), /^var: axis 2 is out of range .* rank 2/);
    expectLgError(() => x.std([0, 0]), /^std: repeated axis/);
    expectLgError(() => x.cumsum(-3), /^cumsum: axis -3 is out of range/);
    expectLgError(() => x.cumsum(0.5), /^cumsum: axis 0\.5 is not an integer/);
    expectLgError(() => x.flip(5), /^flip: axis 5 is out of range/);
    expectLgError(() => x.flip([1, -1]), /^flip: repeated axis/);
    expectLgError(() => x.repeat(2, 2), /^repeat: axis 2 is out of range/);
  });
  it('bad options and flags', () => {
    expectLgError(() => x.var(0, false, { ddof: -1 }), /^var: option ddof must be a finite number >= 0, got -1/);
    expectLgError(() => x.var(0, false, { dof: 1 } as any), /^var: unknown option 'dof'.*did you mean 'ddof'/);
    expectLgError(() => x.std(0, 1 as any), /^std: keepdims must be true or false, got 1/);
    expectLgError(() => x.gelu({ approximate: 'tanh' } as any), /^gelu: option approximate must be true or false/);
    expectLgError(() => x.leakyRelu(NaN), /^leakyRelu: slope must be a finite number, got NaN/);
  });
  it('bad reps and counts', () => {
    expectLgError(() => x.tile([2, -1]), /^tile: reps\[1\] must be a non-negative integer, got -1/);
    expectLgError(() => x.tile(1.5), /^tile: reps must be a non-negative integer, got 1\.5/);
    expectLgError(() => x.tile('2' as any), /^tile: reps must be a non-negative integer or an array/);
    expectLgError(() => x.tile([2 ** 16, 2 ** 16]), /^tile: shape \[131072,196608\] has .* elements/);
    expectLgError(() => x.repeat(-2, 0), /^repeat: the count n must be a non-negative integer, got -2/);
  });
  it('wrong dtypes and operands', () => {
    const b = lg.zeros([2], { dtype: 'bool' });
    expectLgError(() => b.clip(0, 1), /^clip: expected a float32 or int32 tensor, got bool\[2\]/);
    expectLgError(() => x.clamp(), /^clamp: expected at least one of min and max/);
    expectLgError(() => x.clip('0' as any, 1), /^clip: min must be a number, a tensor, null or undefined/);
    expectLgError(() => x.clip(f32([4]), 1), /^clip: .*cannot broadcast shapes \[2,3\] and \[4\]/);
    expectLgError(() => x.logicalAnd('yes' as any), /^logicalAnd: expected a Tensor, number or boolean operand/);
    expectLgError(() => x.logicalOr(f32([4])), /^logicalOr: .*cannot broadcast shapes \[2,3\] and \[4\]/);
    expectLgError(() => lg.zerosLike([1, 2] as any), /^zerosLike: expected a tensor/);
    expectLgError(() => lg.onesLike(x, { dtype: 'float64' } as any), /^onesLike: option dtype must be 'float32'/);
  });
  it('linspace and randint', () => {
    expectLgError(() => lg.linspace(0, 1, -1), /^linspace: n must be a non-negative integer, got -1/);
    expectLgError(() => lg.linspace(0, Infinity, 3), /^linspace: stop must be a finite number/);
    expectLgError(() => lg.randint(5, 5, [2]), /^randint: high must be greater than low, got low 5 and high 5/);
    expectLgError(() => lg.randint(0.5, 5, [2]), /^randint: low must be an integer in the int32 range/);
    expectLgError(() => lg.randint(0, 2 ** 31, [2]), /^randint: high must be an integer in the int32 range/);
    expectLgError(() => lg.randint(0, 2 ** 25, [2]), /^randint: high - low = 33554432 is larger than 2\^24/);
    expectLgError(() => lg.randint(0, 5, [-1]), /^randint: shape must be an array of non-negative integers/);
  });
  it('nn.dropout rates and inputs', () => {
    expectLgError(() => lg.nn.dropout(x, 1), /^nn\.dropout: rate must be a number in \[0, 1\).*got 1/);
    expectLgError(() => lg.nn.dropout(x, -0.1), /^nn\.dropout: rate must be a number in \[0, 1\)/);
    expectLgError(() => lg.nn.dropout(x, NaN), /^nn\.dropout: rate must be/);
    expectLgError(() => lg.nn.dropout(x, 0.5, { training: true } as any), /^nn\.dropout: unknown option 'training'/);
    expectLgError(
      () => lg.nn.dropout(lg.zeros([2], { dtype: 'int32' }), 0.5),
      /^nn\.dropout: the input x must be a float32 tensor, got int32\[2\]/,
    );
  });
  it('nn.layerNorm and nn.batchNorm parameters, statistics and inputs', () => {
    const ln = lg.nn.init.layerNorm(3);
    expectLgError(
      () => lg.nn.layerNorm(ln, f32([2, 4])),
      /^nn\.layerNorm: parameters g has shape \[3\], expected \[4\]/,
    );
    expectLgError(() => lg.nn.layerNorm({ g: ln.g } as any, x), /^nn\.layerNorm: expected parameters \{g, b\}/);
    expectLgError(() => lg.nn.layerNorm(ln, x, { eps: -1 }), /^nn\.layerNorm: option eps must be a finite number >= 0/);
    expectLgError(() => lg.nn.init.layerNorm(0), /^nn\.init\.layerNorm: dim must be a positive integer, got 0/);
    const [p, s] = lg.nn.init.batchNorm(3);
    expectLgError(() => lg.nn.batchNorm(p, s, f32([4, 3]), {} as any), /^nn\.batchNorm: option train is required/);
    expectLgError(
      () => lg.nn.batchNorm(p, s, f32([4, 2]), { train: true }),
      /^nn\.batchNorm: parameters g has shape \[3\], expected \[2\]/,
    );
    expectLgError(
      () => lg.nn.batchNorm(p, { mean: s.mean } as any, f32([4, 3]), { train: true }),
      /^nn\.batchNorm: expected statistics \{mean, var\}/,
    );
    expectLgError(() => lg.nn.batchNorm(p, s, f32([3]), { train: true }), /^nn\.batchNorm: expected an input \[N, C\]/);
    expectLgError(
      () => lg.nn.batchNorm(p, s, f32([1, 3]), { train: true }),
      /^nn\.batchNorm: training needs more than one value per channel/,
    );
    expectLgError(
      () => lg.nn.batchNorm(p, s, f32([4, 3]), { train: true, momentum: 2 }),
      /^nn\.batchNorm: option momentum must be a number in \[0, 1\]/,
    );
  });
  it('nn.attention operands, mask and options', () => {
    const q = f32([2, 4, 8]);
    const k = f32([2, 5, 8]);
    const v = f32([2, 5, 3]);
    expectLgError(
      () => lg.nn.attention(q, f32([2, 5, 7]), v),
      /^nn\.attention: q and k must have the same last axis d.*\[2,4,8\].*\[2,5,7\]/,
    );
    expectLgError(
      () => lg.nn.attention(q, k, f32([2, 6, 3])),
      /^nn\.attention: k and v must have the same number of keys/,
    );
    expectLgError(() => lg.nn.attention(f32([8]), k, v), /^nn\.attention: q, k and v must be \[\.\.\., T, d\]/);
    expectLgError(() => lg.nn.attention(f32([3, 4, 8]), k, v), /^nn\.attention: the batch axes .* do not broadcast/);
    expectLgError(() => lg.nn.attention(q, k, v, { mask: f32([4, 5]) }), /^nn\.attention: mask must be a bool tensor/);
    expectLgError(
      () => lg.nn.attention(q, k, v, { mask: lg.zeros([4, 4], { dtype: 'bool' }) }),
      /^nn\.attention: mask \[4,4\] does not broadcast to the scores \[2,4,5\]/,
    );
    expectLgError(
      () => lg.nn.attention(q, k, v, { causal: 1 } as any),
      /^nn\.attention: option causal must be true or false/,
    );
    expectLgError(
      () => lg.nn.attention(q, k, lg.zeros([2, 5, 3], { dtype: 'int32' })),
      /^nn\.attention: v must be a float32 tensor/,
    );
  });
});

describe('errors leave the library usable', () => {
  it('a failed op does not poison later work', () => {
    const x = f32([2, 3]);
    expectLgError(() => x.add(f32([4])));
    expect(x.add(1).toArray()).toEqual([
      [1, 1, 1],
      [1, 1, 1],
    ]);
  });
});
