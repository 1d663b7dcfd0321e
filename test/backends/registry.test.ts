/**
 * The backend registry: built-in names and their errors, and a toy backend
 * registered through it — every kernel dispatched through the reference
 * interpreter (ir/kernel-eval.ts), plans run by the shared executor — that
 * runs a small shared suite via `setBackend` and matches the js backend.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as lg from '../../src/index';
import { InterpreterBackend } from './interpreter-backend';
import { backendNames, createBackend, registerBackend, registeredBackends } from '../../backends/registry';

const TOY = 'toy-interpreter';
registerBackend(TOY, () => new InterpreterBackend(TOY), { description: 'test backend: the reference interpreter' });
const toy = createBackend(TOY) as InterpreterBackend;

type Out = lg.Tensor | lg.Tensor[];

/** Runs `f` with `name` as the current backend and reads its results. */
function on(name: string, f: () => Out): number[][] {
  const prev = lg.getBackend();
  lg.setBackend(name);
  try {
    const r = f();
    return (Array.isArray(r) ? r : [r]).map((t) => Array.from(t.dataSync()));
  } finally {
    lg.setBackend(prev);
  }
}

function expectClose(got: number[][], want: number[][], tol = 1e-5): void {
  expect(got.length).toBe(want.length);
  got.forEach((xs, k) => {
    expect(xs.length).toBe(want[k].length);
    xs.forEach((x, i) =>
      expect(Math.abs(x - want[k][i]), `output ${k}[${i}]: ${x} vs ${want[k][i]}`).toBeLessThanOrEqual(
        tol * (1 + Math.abs(want[k][i])),
      ),
    );
  });
}

/** Deterministic inputs (built inside `f`, on the backend that runs it). */
const data = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.3));

/** The shared suite: each case runs on the toy backend and on js, with equal results. */
const cases: Record<string, () => Out> = {
  'elementwise, broadcasting and comparisons': () => {
    const a = lg.tensor(data(6, 1)).reshape([2, 3]);
    const b = lg.tensor(data(3, 2));
    return [a.mul(b).add(1).tanh(), lg.where(a.gt(b), a, b.neg()), a.sigmoid().exp().log()];
  },
  'reductions, softmax and a matmul': () => {
    const a = lg.tensor(data(12, 3)).reshape([3, 4]);
    const w = lg.tensor(data(8, 4)).reshape([4, 2]);
    return [a.sum(1), a.max(0), a.softmax(-1), a.matmul(w), a.logsumexp(1)];
  },
  'movement ops and int32': () => {
    const a = lg.tensor(data(12, 5)).reshape([3, 4]);
    const i = lg.arange(0, 12).reshape([3, 4]);
    return [
      a.transpose().slice([0, 0], [4, 3], [2, 1]),
      a.pad([
        [1, 0],
        [0, 2],
      ]),
      lg.concat([a, a.mul(2)], 0),
      i.mul(3).add(i).sum(1),
      a.argmax(1),
    ];
  },
  'random numbers under manualSeed': () => {
    lg.manualSeed(11);
    return lg.rand([16]);
  },
  'a gradient': () => {
    const x = lg.tensor(data(6, 6)).reshape([2, 3]);
    const w = lg.tensor(data(12, 7)).reshape([3, 4]);
    const loss = (wt: lg.Tensor) => x.matmul(wt).sigmoid().mul(x.sum(1, true)).sum();
    return lg.grad(loss)(w) as lg.Tensor;
  },
  'jit training steps with donation': () => {
    const x = lg.tensor(data(8, 8)).reshape([4, 2]);
    const y = lg.tensor(data(4, 9)).reshape([4, 1]);
    const loss = (wt: lg.Tensor) => x.matmul(wt).sub(y).pow(2).mean();
    const step = lg.jit((wt: lg.Tensor, lr: number) => wt.sub((lg.grad(loss)(wt) as lg.Tensor).mul(lr)), {
      donate: [0],
    });
    let w = lg.tensor(data(2, 10)).reshape([2, 1]).realize();
    for (let i = 0; i < 3; i++) w = step(w, 0.1) as lg.Tensor;
    return [w, loss(w)];
  },
};

describe('backend registry', () => {
  afterEach(() => lg.setBackend('js'));

  it('lists the built-in backends as user choices, the float64 variant only when hidden ones are asked for', () => {
    expect(backendNames().slice(0, 2)).toEqual(['js', 'gpujs']);
    expect(backendNames()).not.toContain('js-float64');
    expect(backendNames({ includeHidden: true })).toContain('js-float64');
    expect(registeredBackends().find((b) => b.name === TOY)?.info.description).toMatch(/reference interpreter/);
  });

  it('creates one instance per name', () => {
    expect(createBackend('js')).toBe(createBackend('js'));
    expect(createBackend('js-float64')).not.toBe(createBackend('js'));
    expect(createBackend('js-float64').mode).toBe('js-float64');
  });

  it('an unknown name is a LazygradError listing the registered backends', () => {
    expect(() => createBackend('nosuch')).toThrow(lg.LazygradError);
    expect(() => createBackend('nosuch')).toThrow(/unknown backend 'nosuch'.*'js', 'gpujs'.*'toy-interpreter'/);
    expect(() => lg.setBackend('nosuch')).toThrow(/setBackend: unknown backend 'nosuch'.*'js', 'gpujs'/);
  });

  it('refuses a second registration of a name, and malformed names', () => {
    expect(() => registerBackend('js', () => toy)).toThrow(/already registered/);
    expect(() => registerBackend('Not A Name', () => toy)).toThrow(lg.LazygradError);
  });

  it('setBackend selects a registered backend by name', () => {
    lg.setBackend(TOY);
    expect(lg.backendInfo()).toMatchObject({ name: TOY, mode: 'reference', threads: 1 });
  });
});

describe('a toy backend registered through the registry runs the shared suite', () => {
  for (const [name, f] of Object.entries(cases)) {
    it(`${name}: equal to js`, () => {
      const before = toy.dispatched;
      const got = on(TOY, f);
      expect(toy.dispatched).toBeGreaterThan(before);
      expectClose(got, on('js', f));
    });
  }

  it('fused and unfused runs agree on it', () => {
    const run = (fusion: boolean) => {
      const prev = lg.getFusion();
      lg.setFusion(fusion);
      try {
        return on(TOY, () => [
          ...(cases['reductions, softmax and a matmul']() as lg.Tensor[]),
          ...(cases['movement ops and int32']() as lg.Tensor[]),
        ]);
      } finally {
        lg.setFusion(prev);
      }
    };
    expectClose(run(false), run(true));
  });
});
