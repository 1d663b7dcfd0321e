#!/usr/bin/env node
// Pre-flight check for the gpujs backend: gpu.js must run a real headless-gl
// kernel (not the silent WebAssembly/CPU fallback). Needs a display, so run it
// as `xvfb-run -a node test/setup/gl-check.cjs`. Exits non-zero on any failure.
'use strict';

function fail(msg, err) {
  console.error(`gl-check: FAIL: ${msg}`);
  if (err) console.error(err && err.stack ? err.stack : err);
  process.exit(1);
}

try {
  require('gl');
} catch (err) {
  fail("native module 'gl' does not load (did its node-gyp build run? are the apt packages installed?)", err);
}

if (!process.env.DISPLAY) {
  fail('DISPLAY is not set; run under `xvfb-run -a`');
}

let GPU;
try {
  ({ GPU } = require('gpu.js'));
} catch (err) {
  fail("cannot load 'gpu.js'", err);
}

let gpu;
try {
  gpu = new GPU({ mode: 'headlessgl' });
  const kernel = gpu.createKernel('function (a) { return a[this.thread.x] * 2; }', {
    output: [4],
  });
  const out = Array.from(kernel([1, 2, 3, 4.5]));
  const want = [2, 4, 6, 9];
  if (out.length !== want.length || out.some((v, i) => v !== want[i])) {
    fail(`kernel returned ${JSON.stringify(out)}, expected ${JSON.stringify(want)}`);
  }
  const impl = kernel.kernel;
  const name = impl && impl.constructor && impl.constructor.name;
  if (name !== 'HeadlessGLKernel') {
    fail(`kernel ran as ${name} (fallbackReason: ${impl && impl.fallbackReason}), expected HeadlessGLKernel`);
  }
  if (impl.fallbackReason) {
    fail(`kernel reports a fallback: ${impl.fallbackReason}`);
  }
  console.log(`gl-check: ok (gpu.js mode=${gpu.mode}, kernel=${name}, result=${JSON.stringify(out)})`);
  kernel.destroy();
  gpu.destroy();
} catch (err) {
  fail('gpu.js headlessgl kernel failed', err);
}
