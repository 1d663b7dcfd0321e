/**
 * The allocator of the wasm backend: every plan buffer lives in one
 * `WebAssembly.Memory`, and this heap hands out blocks of it.
 *
 * The bookkeeping is all in JS, none in the wasm memory. Live blocks are a
 * Map from offset to size. The free space at the end of memory, from `top`
 * on, is one run; the other free blocks are kept by start and by end (Maps:
 * a freed block merges with its free neighbours, or with the top run, in
 * O(1)) and in bins of one exact size, whose sizes are a sorted array. An
 * allocation binary-searches the smallest free block that fits (best fit)
 * and splits off what it does not need; when none fits it is cut from the
 * top run, and only when that is too short does the memory grow (by a
 * quarter at least). Sizes are multiples of 16 and blocks 16-aligned; blocks
 * of 4 KiB or more are 64-aligned (the padding before one stays free), so a
 * bin keeps its blocks apart by start mod 64 and a size's fit is an O(1)
 * check. Offsets below 64 are never handed out: 0 stays a null. Only this
 * heap grows the memory (kernels never do).
 */
import { LazygradError, show } from '../../ir';

/** `WebAssembly.Memory` as lib.dom types it (the project's lib and Node's types have no WebAssembly). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(delta: number): number;
}

interface WasmMemoryConstructor {
  new (descriptor: { initial: number; maximum?: number; shared?: boolean }): WasmMemory;
}

export interface HeapOptions {
  /** Pages (64 KiB each) the memory starts with; 1 by default. */
  initialPages?: number;
  /** The most pages the memory may grow to; 65536 (4 GiB) by default. */
  maximumPages?: number;
  /**
   * A shared memory (its buffer is a SharedArrayBuffer) that workers can
   * read and write; the bookkeeping stays in this heap, so one thread allocates.
   */
  shared?: boolean;
}

const PAGE = 65536;
const MAX_PAGES = 65536;
const ALIGN = 16;
/** Blocks of at least this many bytes are aligned to LARGE_ALIGN (SIMD rows, cache lines). */
const LARGE = 4096;
const LARGE_ALIGN = 64;
/** The memory grows by at least 1/GROWTH of its size (within maximumPages). */
const GROWTH = 4;
/** Offsets below this are never handed out: offset 0 stays a null pointer. */
const BASE = 64;

export class WasmHeap {
  readonly memory: WasmMemory;
  readonly maximumPages: number;
  /** Whether the memory is shared (workers can run kernels over it). */
  readonly shared: boolean;
  /** Live blocks: offset → usable size. */
  private readonly live = new Map<number, number>();
  private used = 0;
  /** Start of the free run at the end of memory (up to byteLength; past it when the memory is empty). */
  private top = BASE;
  /** Free blocks below `top`: start → size, and end → start. No two are adjacent, none touches `top`. */
  private readonly freeByStart = new Map<number, number>();
  private readonly freeByEnd = new Map<number, number>();
  /**
   * Starts of the free blocks of each size and phase (where they start in a
   * 64-byte line: all blocks of one bin need the same padding to align), by
   * `size + phase` (sizes are multiples of 16, phases 0..3).
   */
  private readonly bins = new Map<number, Set<number>>();
  /** The sizes of the free blocks, ascending, and how many blocks have each. */
  private readonly sizes: number[] = [];
  private readonly perSize = new Map<number, number>();

  constructor(opts: HeapOptions = {}) {
    const maximumPages = opts.maximumPages ?? MAX_PAGES;
    const initialPages = opts.initialPages ?? 1;
    if (!Number.isInteger(maximumPages) || maximumPages < 1 || maximumPages > MAX_PAGES)
      throw new LazygradError(
        `WasmHeap: maximumPages must be an integer in 1..${MAX_PAGES}, got ${showNumber(maximumPages)}`,
      );
    if (!Number.isInteger(initialPages) || initialPages < 0 || initialPages > maximumPages)
      throw new LazygradError(
        `WasmHeap: initialPages must be an integer in 0..${maximumPages} (maximumPages), got ${showNumber(initialPages)}`,
      );
    const api = (globalThis as { WebAssembly?: { Memory: WasmMemoryConstructor } }).WebAssembly;
    if (!api) throw new LazygradError('WasmHeap: WebAssembly is not available in this environment');
    this.maximumPages = maximumPages;
    this.shared = opts.shared ?? false;
    this.memory = new api.Memory({ initial: initialPages, maximum: maximumPages, shared: this.shared });
  }

  /**
   * Byte offset of a new block of at least `bytes` (0 gives a minimal block),
   * 16-aligned (64-aligned from 4 KiB); grows the memory when no free block
   * fits. Never 0.
   */
  alloc(bytes: number): number {
    if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0)
      throw new LazygradError(
        `WasmHeap.alloc: the size must be a non-negative integer number of bytes, got ${showNumber(bytes)}`,
      );
    if (bytes > this.maximumPages * PAGE - BASE) throw this.outOfMemory(bytes);
    let size = alignUp(Math.max(bytes, 1), ALIGN);
    const align = size >= LARGE ? LARGE_ALIGN : ALIGN;
    size = alignUp(size, align);
    const start = this.findFree(size, align);
    if (start !== undefined) return this.carve(start, size, align);
    const ptr = alignUp(this.top, align);
    if (ptr + size > this.byteLength) this.grow(ptr + size, bytes);
    if (ptr > this.top) this.addFree(this.top, ptr - this.top);
    this.top = ptr + size;
    return this.take(ptr, size);
  }

  /** Returns a block to the heap; an offset that is not a live block throws. */
  free(ptr: number): void {
    const size = this.live.get(ptr);
    if (size === undefined)
      throw new LazygradError(
        `WasmHeap.free: ${showNumber(ptr)} is not a live block (never allocated, or already freed)`,
      );
    this.live.delete(ptr);
    this.used -= size;
    this.release(ptr, size);
  }

  /** Usable size of a live block (its request rounded up to the alignment). */
  sizeOf(ptr: number): number {
    const size = this.live.get(ptr);
    if (size === undefined) throw new LazygradError(`WasmHeap.sizeOf: ${showNumber(ptr)} is not a live block`);
    return size;
  }

  get blocksInUse(): number {
    return this.live.size;
  }

  /** The usable sizes of the live blocks, summed. */
  get bytesInUse(): number {
    return this.used;
  }

  /** Current memory size in bytes. */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Start of a free block that holds `size` bytes at `align` (one of the smallest such sizes), if any. */
  private findFree(size: number, align: number): number | undefined {
    // Sizes step by 16, so from `size + 48` on any block fits: an aligned
    // request looks at 4 sizes at most, a 16-aligned one at the first.
    for (let i = lowerBound(this.sizes, size); i < this.sizes.length; i++) {
      const slack = this.sizes[i] - size;
      for (let phase = 0; phase < LARGE_ALIGN / ALIGN; phase++) {
        const bin = this.bins.get(this.sizes[i] + phase);
        if (!bin) continue;
        const start: number = bin.values().next().value!;
        if (alignUp(start, align) - start <= slack) return start;
      }
    }
    return undefined;
  }

  /** Grows the memory to `end` bytes at least. */
  private grow(end: number, requested: number): void {
    const current = this.byteLength / PAGE;
    const needed = Math.ceil(end / PAGE) - current;
    if (current + needed > this.maximumPages) throw this.outOfMemory(requested);
    // Growing a memory costs about a millisecond whatever the amount (the
    // buffer is replaced), so grow by a quarter at least: few grows in all.
    const pages = Math.max(needed, Math.min(Math.ceil(current / GROWTH), this.maximumPages - current));
    try {
      this.memory.grow(pages);
    } catch (e) {
      throw this.outOfMemory(requested, e);
    }
  }

  /** Takes `size` bytes at `align` out of the free block at `start`; the rest stays free. */
  private carve(start: number, size: number, align: number): number {
    const blockSize = this.freeByStart.get(start)!;
    this.removeFree(start, blockSize);
    const ptr = alignUp(start, align);
    if (ptr > start) this.addFree(start, ptr - start);
    const end = start + blockSize;
    if (ptr + size < end) this.addFree(ptr + size, end - ptr - size);
    return this.take(ptr, size);
  }

  private take(ptr: number, size: number): number {
    this.live.set(ptr, size);
    this.used += size;
    return ptr;
  }

  /** Makes [start, start + size) free, merged with the free space around it. */
  private release(start: number, size: number): void {
    let end = start + size;
    const nextSize = this.freeByStart.get(end);
    if (nextSize !== undefined) {
      this.removeFree(end, nextSize);
      end += nextSize;
    }
    const prevStart = this.freeByEnd.get(start);
    if (prevStart !== undefined) {
      this.removeFree(prevStart, start - prevStart);
      start = prevStart;
    }
    if (end === this.top) this.top = start;
    else this.addFree(start, end - start);
  }

  private addFree(start: number, size: number): void {
    this.freeByStart.set(start, size);
    this.freeByEnd.set(start + size, start);
    const key = size + phase(start);
    const bin = this.bins.get(key);
    if (bin) bin.add(start);
    else this.bins.set(key, new Set([start]));
    const count = this.perSize.get(size) ?? 0;
    if (count === 0) this.sizes.splice(lowerBound(this.sizes, size), 0, size);
    this.perSize.set(size, count + 1);
  }

  private removeFree(start: number, size: number): void {
    this.freeByStart.delete(start);
    this.freeByEnd.delete(start + size);
    const key = size + phase(start);
    const bin = this.bins.get(key)!;
    bin.delete(start);
    if (bin.size === 0) this.bins.delete(key);
    const count = this.perSize.get(size)! - 1;
    if (count > 0) this.perSize.set(size, count);
    else {
      this.perSize.delete(size);
      this.sizes.splice(lowerBound(this.sizes, size), 1);
    }
  }

  private outOfMemory(requested: number, cause?: unknown): LazygradError {
    const max = this.maximumPages * PAGE;
    return new LazygradError(
      `WasmHeap: cannot allocate ${requested} bytes: the heap is ${this.byteLength} bytes ` +
        `(${this.used} bytes in ${this.live.size} live blocks) and may grow to at most ${max} bytes ` +
        `(maximumPages ${this.maximumPages})` +
        (cause instanceof Error ? `; growing failed: ${cause.message}` : ''),
    );
  }
}

/** A number as written (NaN, -1, 1.5), anything else as JSON. */
function showNumber(v: unknown): string {
  return typeof v === 'number' ? String(v) : show(v);
}

/** Where a 16-aligned offset starts in a 64-byte line: 0..3. */
function phase(offset: number): number {
  return (offset % LARGE_ALIGN) / ALIGN;
}

function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/** Index of the first element of the ascending array `a` that is >= x. */
function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
