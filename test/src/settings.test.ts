import { afterEach, describe, expect, it } from 'vitest';
import * as lg from '../../src/index';

describe('settings', () => {
  const fusion = lg.getFusion();
  afterEach(() => lg.setFusion(fusion));

  it('setFusion takes a boolean only (issue 13: "no" turned fusion on)', () => {
    expect(() => lg.setFusion('no' as never)).toThrow(lg.LazygradError);
    expect(() => lg.setFusion('no' as never)).toThrow(/setFusion: expected true or false, got 'no' \(a string\)/);
    expect(() => lg.setFusion(0 as never)).toThrow(/got 0 \(number\)/);
    expect(lg.getFusion()).toBe(fusion);
    lg.setFusion(false);
    expect(lg.getFusion()).toBe(false);
  });

  it('setDebug takes a level 0 to 4', () => {
    expect(() => lg.setDebug(7)).toThrow(/setDebug: expected a level 0 to 4, got 7/);
    expect(() => lg.setDebug('1' as never)).toThrow(lg.LazygradError);
    lg.setDebug(0);
  });

  it('lists the registered backends, hidden variants left out', () => {
    expect(lg.backendNames()).toEqual(expect.arrayContaining(['js', 'gpujs']));
    expect(lg.backendNames()).not.toContain('js-float64');
    expect(() => lg.setBackend('metal')).toThrow(/unknown backend 'metal' \(expected one of 'js', 'gpujs', 'wasm'/);
  });
});
