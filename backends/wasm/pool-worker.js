// A worker of the wasm backend's thread pool (backends/wasm/pool.ts), in
// Node (worker_threads) and in browsers (a module Web Worker). Plain
// JavaScript with no imports, so every host loads it as it is: from the
// source tree, from dist/ next to the bundle, or from a page.
//
// The hot path uses no messages: the worker sleeps in Atomics.wait on the
// control block's generation word; a launch bumps it, the worker runs its
// chunk of the kernel (range and arguments read from the control block),
// counts itself done and sleeps again. Messages carry only what cannot go
// through shared memory: the memory itself and compiled modules (once each).
/* global self, WebAssembly */

// Control block layout (Int32 words) and commands: pool.ts's LAYOUT, from the init message.
let GEN, PENDING, CMD, KERNEL, NPARAMS, ERRORS, SYNC_SEQ, ERROR_LEN, READY, RANGES;
let CMD_RUN, CMD_SYNC, ERROR_TEXT_WORDS;

let ctl; // Int32Array over the control block
let params; // Float64Array over the control block's argument area
let errorText; // Int32Array: the first failure's message, one UTF-16 unit a word
let memory;
let index = 0; // this worker's slot: its range is RANGES + 3 * index (lo, hi, scratch)
let lastGen = 0;
let lastSeq = 0;
let owesSync = false;
const kernels = [];

function instantiate(list) {
  for (const { id, module } of list) {
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    kernels[id] = instance.exports.kernel;
  }
}

function reportError(e) {
  if (Atomics.add(ctl, ERRORS, 1) !== 0) return;
  const text = `worker thread ${index + 1}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  const n = Math.min(text.length, ERROR_TEXT_WORDS);
  for (let i = 0; i < n; i++) errorText[i] = text.charCodeAt(i);
  Atomics.store(ctl, ERROR_LEN, n);
}

function done() {
  if (Atomics.sub(ctl, PENDING, 1) === 1) Atomics.notify(ctl, PENDING);
}

function run() {
  const at = RANGES + 3 * index;
  const lo = ctl[at];
  const hi = ctl[at + 1];
  if (lo >= hi) return;
  const fn = kernels[ctl[KERNEL]];
  const n = ctl[NPARAMS];
  const args = new Array(n + 3);
  for (let i = 0; i < n; i++) args[i] = params[i];
  args[n] = lo;
  args[n + 1] = hi;
  args[n + 2] = ctl[at + 2];
  fn(...args);
}

/** Serves launches until one asks for messages (new modules) this worker has not read yet. */
function serve() {
  for (;;) {
    // A short spin first: launches often come back to back, and waking from Atomics.wait costs more.
    for (let spin = 0; spin < 2000 && Atomics.load(ctl, GEN) === lastGen; spin++);
    Atomics.wait(ctl, GEN, lastGen);
    const gen = Atomics.load(ctl, GEN);
    if (gen === lastGen) continue;
    lastGen = gen;
    const cmd = ctl[CMD];
    if (cmd === CMD_SYNC) {
      if (lastSeq >= ctl[SYNC_SEQ]) done();
      else {
        // The modules are in a message behind us: read it, then acknowledge (onMessage).
        owesSync = true;
        return;
      }
    } else if (cmd === CMD_RUN) {
      try {
        run();
      } catch (e) {
        reportError(e);
      }
      done();
    }
  }
}

function onMessage(msg) {
  try {
    if (msg.type === 'init') {
      ({ GEN, PENDING, CMD, KERNEL, NPARAMS, ERRORS, SYNC_SEQ, ERROR_LEN, READY, RANGES } = msg.layout);
      ({ CMD_RUN, CMD_SYNC, ERROR_TEXT_WORDS } = msg.layout);
      ctl = new Int32Array(msg.control);
      params = new Float64Array(msg.control, msg.paramsOffset, msg.maxParams);
      errorText = new Int32Array(msg.control, msg.errorOffset, ERROR_TEXT_WORDS);
      memory = msg.memory;
      index = msg.index;
      lastGen = msg.gen;
      lastSeq = msg.seq;
      instantiate(msg.modules);
      Atomics.add(ctl, READY, 1);
      Atomics.notify(ctl, READY);
    } else if (msg.type === 'modules') {
      lastSeq = msg.seq;
      instantiate(msg.modules);
    }
  } catch (e) {
    // An instance that failed shows up as the error of the launch that needs it; the worker goes on.
    if (ctl) reportError(e);
  }
  if (owesSync) {
    owesSync = false;
    done();
  }
  if (ctl) serve();
}

const nodeWorker =
  typeof process !== 'undefined' && process.getBuiltinModule
    ? process.getBuiltinModule('node:worker_threads')
    : undefined;
if (nodeWorker && nodeWorker.parentPort) nodeWorker.parentPort.on('message', onMessage);
else self.onmessage = (event) => onMessage(event.data);
