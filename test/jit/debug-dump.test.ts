/** LAZYGRAD_DEBUG levels and LAZYGRAD_DUMP write what SPEC says they write. */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as lg from '../../src/index';
import { settings } from '../../src/settings';

const program = (seed: number) => (x: lg.Tensor) => x.mul(seed).exp().sum(0).add(seed);

afterEach(() => {
  settings.debug = 0;
  settings.dumpDir = undefined;
  vi.restoreAllMocks();
});

describe('debug output', () => {
  it('level 1 prints one line per kernel with time, rates and fused ops', () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((s: string) => void lines.push(s));
    const input = lg.ones([4, 5]).realize();
    settings.debug = 1;
    const f = lg.jit(program(3.25));
    f(input).dataSync();
    const kernels = f.lower(input).stats().kernels;
    const mine = lines.filter((l) => l.startsWith('[lazygrad]'));
    expect(mine).toHaveLength(kernels);
    expect(mine[0]).toMatch(/ms .*GFLOP\/s .*GB\/s .*\[.*exp.*\]/);
  });
  it('levels 2 and 3 print the IR after each pass and the kernel source', () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((s: string) => void lines.push(s));
    settings.debug = 2;
    lg.jit(program(4.5))(lg.ones([3, 5])).dataSync();
    expect(lines.some((l) => l.includes('after simplify') && l.includes('graph'))).toBe(true);
    lines.length = 0;
    settings.debug = 3;
    lg.jit(program(5.5))(lg.ones([6, 5])).dataSync();
    expect(lines.some((l) => l.startsWith('--- kernel') && /function|\(func /.test(l))).toBe(true);
  });
});

describe('LAZYGRAD_DUMP', () => {
  it('writes every stage as .ir and .dot files plus the kernel source', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lazygrad-dump-'));
    settings.dumpDir = dir;
    lg.jit(program(6.75))(lg.ones([7, 5])).dataSync();
    const files = readdirSync(dir);
    for (const stage of ['traced', 'grad', 'optimized']) {
      expect(files.some((f) => f.endsWith(`.${stage}.ir`))).toBe(true);
      expect(files.some((f) => f.endsWith(`.${stage}.dot`))).toBe(true);
    }
    const ir = readFileSync(
      join(
        dir,
        files.find((f) => f.endsWith('.traced.ir'))!,
      ),
      'utf8',
    );
    expect(ir).toMatch(/^graph /);
    expect(files.some((f) => f.endsWith('.fused.ir'))).toBe(true);
    expect(
      readFileSync(
        join(
          dir,
          files.find((f) => /\.kernels\.(js|wat)$/.test(f))!,
        ),
        'utf8',
      ),
    ).toMatch(/function|\(func /);
  });
});
