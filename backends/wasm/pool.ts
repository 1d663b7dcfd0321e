/**
 * The wasm backend's thread pool: `size` workers (pool-worker.js) beside
 * the calling thread, all over one shared `WebAssembly.Memory`.
 *
 * A launch writes the kernel's index, its arguments and every thread's
 * range into a shared control block, bumps the block's generation word and
 * wakes the workers with `Atomics.notify`; the calling thread runs the first
 * range itself, then waits for the others at a counter (no `postMessage` on
 * the hot path). Compiled modules reach the workers by message once each,
 * before the first launch that needs them (`sync`). A kernel that throws on
 * a worker is caught there and its message comes back through the control
 * block, so the calling thread raises it after the barrier instead of hanging.
 */
import { LazygradError } from '../../ir';
import type { WasmMemory } from './heap';
import { MAX_THREADS, nodeBuiltin } from './threads';
import type { WasmModule } from './webassembly';

/**
 * The control block's layout (Int32 words) and commands. The worker gets
 * this table in its init message, so it lives here only.
 */
const LAYOUT = {
  GEN: 0,
  PENDING: 1,
  CMD: 2,
  KERNEL: 3,
  NPARAMS: 4,
  ERRORS: 5,
  SYNC_SEQ: 6,
  ERROR_LEN: 7,
  READY: 8,
  /** Per worker: lo, hi, scratch. */
  RANGES: 16,
  CMD_RUN: 1,
  CMD_SYNC: 2,
  ERROR_TEXT_WORDS: 512,
} as const;
const { GEN, PENDING, CMD, KERNEL, NPARAMS, ERRORS, SYNC_SEQ, ERROR_LEN, READY, RANGES } = LAYOUT;
const { CMD_RUN, CMD_SYNC, ERROR_TEXT_WORDS } = LAYOUT;
/** The most workers a pool holds (the control block's range table). */
export const MAX_WORKERS = MAX_THREADS - 1;
/** Kernels with more parameters than this run on the calling thread. */
export const MAX_PARAMS = 4096;

const RANGES_BYTES = (RANGES + 3 * MAX_WORKERS) * 4;
const ERROR_OFFSET = Math.ceil(RANGES_BYTES / 8) * 8;
const PARAMS_OFFSET = ERROR_OFFSET + ERROR_TEXT_WORDS * 4;
const CONTROL_BYTES = PARAMS_OFFSET + MAX_PARAMS * 8;
/** How long the first launch waits for the workers to start before it gives up. */
const START_TIMEOUT_MS = 20_000;

/** One thread's share of a launch: `kernel(...params, lo, hi, scratch)`. */
export interface Chunk {
  readonly lo: number;
  readonly hi: number;
  readonly scratch: number;
}

/** What the pool needs of a worker: Node's `Worker` and the browser's, reduced to their common part. */
interface PoolWorker {
  postMessage(msg: unknown): void;
  terminate(): unknown;
}

/** Called (asynchronously, between launches) when a worker failed or exited. */
type OnWorkerLost = (why: string) => void;

type KernelFn = (...args: number[]) => void;

/** Whether the calling thread may block in `Atomics.wait` (not on a browser page's main thread). */
function callerCanBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

export class ThreadPool {
  private readonly control = new SharedArrayBuffer(CONTROL_BYTES);
  private readonly ctl = new Int32Array(this.control);
  private readonly params = new Float64Array(this.control, PARAMS_OFFSET, MAX_PARAMS);
  private readonly errorText = new Int32Array(this.control, ERROR_OFFSET, ERROR_TEXT_WORDS);
  private readonly workers: PoolWorker[] = [];
  /** Every module the workers instantiate, by pool index. */
  private readonly modules: WasmModule[] = [];
  private readonly moduleIds = new Map<WasmModule, number>();
  /** Modules the workers have not received yet. */
  private unsent: number[] = [];
  private seq = 0;
  private readonly canBlock = callerCanBlock();
  private started = false;
  /** Why a worker is gone, once one is: the pool is then broken and must be replaced. */
  lost?: string;

  constructor(
    private readonly memory: WasmMemory,
    readonly size: number,
  ) {
    if (!Number.isInteger(size) || size < 1 || size > MAX_WORKERS)
      throw new LazygradError(`ThreadPool: expected 1 to ${MAX_WORKERS} workers, got ${size}`);
    for (let i = 0; i < size; i++) this.workers.push(this.spawn(i));
  }

  private spawn(index: number): PoolWorker {
    const init = {
      type: 'init',
      layout: LAYOUT,
      control: this.control,
      paramsOffset: PARAMS_OFFSET,
      maxParams: MAX_PARAMS,
      errorOffset: ERROR_OFFSET,
      memory: this.memory,
      index,
      gen: Atomics.load(this.ctl, GEN),
      seq: this.seq,
      modules: [],
    };
    const worker = startWorker(new URL('./pool-worker.js', import.meta.url), (why) => {
      this.lost ??= `worker thread ${index + 1} ${why}`;
    });
    worker.postMessage(init);
    return worker;
  }

  /** The pool index of `module`, queued for the workers on first sight. */
  moduleId(module: WasmModule): number {
    let id = this.moduleIds.get(module);
    if (id === undefined) {
      id = this.modules.length;
      this.modules.push(module);
      this.moduleIds.set(module, id);
      this.unsent.push(id);
    }
    return id;
  }

  /** Sends the modules queued since the last sync to every worker and waits until each has them. */
  private sync(): void {
    this.awaitStart();
    if (!this.unsent.length) return;
    const modules = this.unsent.map((id) => ({ id, module: this.modules[id] }));
    this.unsent = [];
    const seq = ++this.seq;
    for (const w of this.workers) w.postMessage({ type: 'modules', seq, modules });
    this.ctl[SYNC_SEQ] = seq;
    this.signal(CMD_SYNC);
    this.waitAll();
    this.raiseErrors('loading kernels into the worker threads');
  }

  /**
   * Runs kernel `id` with `params` over `chunks`: chunks[0] on the calling
   * thread (by `fn`, its own instance), chunk i on worker i - 1.
   */
  launch(name: string, fn: KernelFn, id: number, params: readonly number[], chunks: readonly Chunk[]): void {
    if (chunks.length - 1 > this.size)
      throw new LazygradError(`ThreadPool: ${chunks.length} chunks for ${this.size} workers`);
    if (params.length > MAX_PARAMS)
      throw new LazygradError(`ThreadPool: ${params.length} kernel parameters, at most ${MAX_PARAMS}`);
    this.sync();
    const ctl = this.ctl;
    ctl[KERNEL] = id;
    ctl[NPARAMS] = params.length;
    this.params.set(params);
    for (let w = 0; w < this.size; w++) {
      const c = chunks[w + 1];
      const at = RANGES + 3 * w;
      ctl[at] = c ? c.lo : 0;
      ctl[at + 1] = c ? c.hi : 0;
      ctl[at + 2] = c ? c.scratch : 0;
    }
    this.signal(CMD_RUN);
    let own: unknown;
    try {
      const c = chunks[0];
      fn(...params, c.lo, c.hi, c.scratch);
    } catch (e) {
      own = e;
    }
    // The workers write into memory the caller is about to reuse: always wait for them.
    this.waitAll();
    if (own !== undefined) throw own;
    this.raiseErrors(`wasm kernel ${name}`);
  }

  /** Waits until every worker has started (once), so a worker that cannot start is an error, not a hang. */
  private awaitStart() {
    if (this.started) return;
    const ctl = this.ctl;
    const deadline = performance.now() + START_TIMEOUT_MS;
    for (;;) {
      const ready = Atomics.load(ctl, READY);
      if (ready === this.size) break;
      if (performance.now() > deadline)
        throw new LazygradError(
          `wasm threads: ${ready} of ${this.size} worker threads started within ${START_TIMEOUT_MS / 1000} s` +
            (this.lost ? ` (${this.lost})` : '') +
            `; setThreads(1) runs every kernel on the calling thread`,
        );
      if (this.canBlock) Atomics.wait(ctl, READY, ready, 50);
    }
    this.started = true;
  }

  private signal(cmd: number) {
    const ctl = this.ctl;
    ctl[CMD] = cmd;
    ctl[ERRORS] = 0;
    Atomics.store(ctl, PENDING, this.size);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
  }

  private waitAll() {
    const ctl = this.ctl;
    for (let spin = 0; spin < 4000 && Atomics.load(ctl, PENDING) !== 0; spin++);
    for (;;) {
      const pending = Atomics.load(ctl, PENDING);
      if (pending === 0) return;
      if (this.canBlock) Atomics.wait(ctl, PENDING, pending);
    }
  }

  private raiseErrors(what: string) {
    if (Atomics.load(this.ctl, ERRORS) === 0) return;
    const n = Atomics.load(this.ctl, ERROR_LEN);
    const text = String.fromCharCode(...this.errorText.subarray(0, n));
    throw new LazygradError(`${what} failed on a ${text}`);
  }

  /** Stops every worker (they hold no state the caller needs). */
  terminate(): void {
    this.lost ??= 'terminated';
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }
}

interface NodeWorker extends PoolWorker {
  unref(): void;
  on(event: 'error' | 'exit', listener: (arg: unknown) => void): void;
}

interface NodeWorkerThreads {
  Worker: new (url: URL, opts: { execArgv: string[] }) => NodeWorker;
}

interface BrowserWorker extends PoolWorker {
  addEventListener(event: 'error', listener: (e: { message?: string }) => void): void;
}

interface BrowserWorkerConstructor {
  new (url: URL, opts: { type: 'module' }): BrowserWorker;
}

/**
 * A worker running `url`: worker_threads in Node, unref'd (an idle pool never
 * keeps a process alive) and without the process's Node options (such as
 * `--input-type`, which would stop it loading; V8's flags are process-wide
 * anyway); a module Web Worker elsewhere.
 */
function startWorker(url: URL, onLost: OnWorkerLost): PoolWorker {
  const threads = nodeWorkerThreads();
  if (threads) {
    const w = new threads.Worker(url, { execArgv: [] });
    w.unref();
    w.on('error', (e) => onLost(`failed: ${(e as Error)?.message ?? String(e)}`));
    w.on('exit', (code) => onLost(`exited (code ${String(code)})`));
    return w;
  }
  const WebWorker = (globalThis as { Worker?: BrowserWorkerConstructor }).Worker;
  if (!WebWorker) throw new LazygradError('wasm threads: this environment has neither worker_threads nor Worker');
  const w = new WebWorker(url, { type: 'module' });
  w.addEventListener('error', (e) => onLost(`failed: ${e.message ?? 'error event'}`));
  return w;
}

function nodeWorkerThreads(): NodeWorkerThreads | undefined {
  return nodeBuiltin<NodeWorkerThreads>('node:worker_threads');
}
