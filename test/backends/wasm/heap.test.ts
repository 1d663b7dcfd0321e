/**
 * The wasm backend's heap (backends/wasm/heap.ts): alignment, the null
 * offset, reuse and coalescing of freed blocks, growth of the memory, errors,
 * a shared memory, and a property test of random alloc/free sequences against
 * a model of the live blocks (no overlap, data kept, growth only when no gap
 * of the memory holds the request).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WasmHeap } from '../../../backends/wasm/heap';
import { LazygradError } from '../../../ir';

const PAGE = 65536;

/** The block a request takes, as documented: 16-byte units, 64 from 4 KiB on. */
const shape = (bytes: number) => {
  const size16 = Math.ceil(Math.max(bytes, 1) / 16) * 16;
  const align = size16 >= 4096 ? 64 : 16;
  return { size: Math.ceil(size16 / align) * align, align };
};
const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/** The gaps between live blocks in [64, byteLength): what the heap has free. */
const gaps = (heap: WasmHeap, ptrs: Iterable<number>) => {
  const sorted = [...ptrs].sort((a, b) => a - b);
  const out: [number, number][] = [];
  let at = 64;
  for (const p of sorted) {
    if (p > at) out.push([at, p]);
    at = p + heap.sizeOf(p);
  }
  if (heap.byteLength > at) out.push([at, heap.byteLength]);
  return out;
};

const fits = (heap: WasmHeap, ptrs: Iterable<number>, bytes: number) => {
  const { size, align } = shape(bytes);
  return gaps(heap, ptrs).some(([lo, hi]) => alignUp(lo, align) + size <= hi);
};

/** Live blocks are disjoint, inside the memory, aligned and sized as asked. */
const checkLayout = (heap: WasmHeap, live: Map<number, number>) => {
  const sorted = [...live].sort((a, b) => a[0] - b[0]);
  let end = 64;
  let bytes = 0;
  for (const [ptr, asked] of sorted) {
    const size = heap.sizeOf(ptr);
    expect(ptr).toBeGreaterThanOrEqual(end);
    expect(ptr % (asked >= 4096 ? 64 : 16)).toBe(0);
    expect(size).toBeGreaterThanOrEqual(Math.max(asked, 1));
    end = ptr + size;
    bytes += size;
  }
  expect(end).toBeLessThanOrEqual(heap.byteLength);
  expect(heap.blocksInUse).toBe(live.size);
  expect(heap.bytesInUse).toBe(bytes);
};

describe('WasmHeap: blocks', () => {
  it('aligns blocks to 16 bytes, 64 from 4 KiB, and never returns 0', () => {
    const heap = new WasmHeap();
    const asks = [0, 1, 15, 16, 17, 100, 4080, 4081, 4095, 4096, 5000, 65536, 100_000, 3, 8192 + 16];
    const live = new Map<number, number>();
    for (const bytes of asks) {
      const ptr = heap.alloc(bytes);
      expect(ptr).not.toBe(0);
      expect(ptr % 16).toBe(0);
      if (bytes >= 4096) expect(ptr % 64).toBe(0);
      expect(heap.sizeOf(ptr) % 16).toBe(0);
      live.set(ptr, bytes);
    }
    checkLayout(heap, live);
  });

  it('gives a request of 0 bytes a minimal block of its own', () => {
    const heap = new WasmHeap();
    const a = heap.alloc(0);
    const b = heap.alloc(0);
    expect(a).not.toBe(b);
    expect(heap.sizeOf(a)).toBe(16);
    expect(heap.bytesInUse).toBe(32);
  });

  it('fills the padding in front of a 64-aligned block with small blocks', () => {
    const heap = new WasmHeap();
    const small = heap.alloc(16); // at 64: the next free byte is 80, not 64-aligned
    const big = heap.alloc(8192);
    expect(small).toBe(64);
    expect(big).toBe(128);
    const length = heap.byteLength;
    expect([heap.alloc(16), heap.alloc(16), heap.alloc(16)].sort((a, b) => a - b)).toEqual([80, 96, 112]);
    expect(heap.byteLength).toBe(length);
  });

  it('cuts a 64-aligned block out of a misaligned hole and keeps the padding free', () => {
    const heap = new WasmHeap();
    const guards = [heap.alloc(16)]; // at 64: what follows starts at 80
    const run = [heap.alloc(3000), heap.alloc(3000)];
    guards.push(heap.alloc(16));
    expect(run[0]).toBe(80);
    for (const p of run) heap.free(p); // a hole of 6016 bytes at 80
    const big = heap.alloc(5000);
    expect(big).toBe(128);
    expect(heap.alloc(48)).toBe(80); // the padding, the smallest free block
    heap.free(big);
    expect(heap.alloc(5952)).toBe(128); // the block merged with the rest of the hole
  });

  it('reuses a freed block for the same size', () => {
    const heap = new WasmHeap();
    const a = heap.alloc(1000);
    heap.alloc(1000);
    heap.free(a);
    expect(heap.alloc(1000)).toBe(a);
    expect(heap.alloc(500)).not.toBe(a);
  });

  it('puts a request in a free hole instead of growing, the smallest hole that fits', () => {
    const heap = new WasmHeap();
    const blocks = [2000, 100, 12_000, 100, 5000, 100].map((n) => heap.alloc(n));
    const length = heap.byteLength; // the rest of the page (over 40 KiB) is free too
    heap.free(blocks[0]);
    heap.free(blocks[2]);
    heap.free(blocks[4]);
    expect(heap.alloc(4500)).toBe(blocks[4]);
    expect(heap.alloc(1500)).toBe(blocks[0]);
    expect(heap.alloc(10_000)).toBe(blocks[2]);
    expect(heap.byteLength).toBe(length);
  });

  it('coalesces a freed run of small blocks into one that serves a large request', () => {
    const heap = new WasmHeap();
    const run = Array.from({ length: 100 }, () => heap.alloc(256));
    const guard = heap.alloc(16);
    for (let i = 1; i < run.length; i++) expect(run[i]).toBe(run[i - 1] + 256);
    const length = heap.byteLength;
    // Free in a scrambled order: every merge direction is taken.
    for (let i = 0; i < run.length; i++) heap.free(run[(i * 37) % run.length]);
    expect(heap.alloc(100 * 256)).toBe(run[0]);
    expect(heap.byteLength).toBe(length);
    heap.free(guard);
  });

  it('merges everything back into one block once all is freed', () => {
    const heap = new WasmHeap({ initialPages: 4 });
    const ptrs = [10, 5000, 300, 70_000, 16, 4096, 99].map((n) => heap.alloc(n));
    for (const p of [ptrs[3], ptrs[0], ptrs[6], ptrs[1], ptrs[5], ptrs[2], ptrs[4]]) heap.free(p);
    expect(heap.blocksInUse).toBe(0);
    expect(heap.bytesInUse).toBe(0);
    const length = heap.byteLength;
    expect(heap.alloc(length - 64)).toBe(64);
    expect(heap.byteLength).toBe(length);
  });

  it('handles many live blocks and holes', () => {
    const heap = new WasmHeap();
    const ptrs = Array.from({ length: 20_000 }, (_, i) => heap.alloc(16 * (1 + (i % 300))));
    const length = heap.byteLength;
    for (let i = 0; i < ptrs.length; i += 2) heap.free(ptrs[i]);
    const holes = new Set(ptrs.filter((_, i) => i % 2 === 0));
    // Each hole is surrounded by live blocks: every request of a hole's size lands in one.
    let outside = 0;
    for (let i = 0; i < ptrs.length; i += 2) if (!holes.has(heap.alloc(16 * (1 + (i % 300))))) outside++;
    expect(outside).toBe(0);
    expect(heap.byteLength).toBe(length);
    expect(heap.blocksInUse).toBe(ptrs.length);
  });
});

describe('WasmHeap: growth', () => {
  it('grows the memory and keeps the data of older blocks', () => {
    const heap = new WasmHeap({ initialPages: 1 });
    const a = heap.alloc(1000);
    new Uint8Array(heap.memory.buffer, a, 1000).fill(7);
    const big = heap.alloc(200_000);
    expect(heap.byteLength).toBeGreaterThan(PAGE);
    expect(heap.byteLength).toBe(heap.memory.buffer.byteLength);
    const bytes = new Uint8Array(heap.memory.buffer);
    bytes.fill(9, big, big + 200_000);
    expect(bytes.subarray(a, a + 1000).every((v) => v === 7)).toBe(true);
    expect(bytes[big + 199_999]).toBe(9);
  });

  it('merges a free block at the end of memory with the grown space', () => {
    const heap = new WasmHeap({ initialPages: 1 });
    const a = heap.alloc(1000); // 64..1072; 1072..65536 stays free
    const big = heap.alloc(200_000);
    expect(big).toBe(alignUp(a + 1008, 64)); // starts in the old page, not at 65536
    expect(heap.byteLength).toBe(alignUp(big + 200_000, PAGE));
  });

  it('grows only when no free block fits', () => {
    const heap = new WasmHeap({ initialPages: 1 });
    const lengths: number[] = [];
    const ptrs = [];
    for (let i = 0; i < 50; i++) {
      ptrs.push(heap.alloc(1200));
      lengths.push(heap.byteLength);
    }
    // 1200 bytes take 1216: 53 blocks fit the first page above offset 64.
    expect(new Set(lengths)).toEqual(new Set([PAGE]));
    for (const p of ptrs) heap.free(p);
    heap.alloc(PAGE - 64);
    expect(heap.byteLength).toBe(PAGE);
    heap.alloc(16);
    expect(heap.byteLength).toBe(2 * PAGE);
  });

  it('starts from a memory of no pages', () => {
    const heap = new WasmHeap({ initialPages: 0, maximumPages: 4 });
    expect(heap.byteLength).toBe(0);
    const p = heap.alloc(10);
    expect(p).toBe(64);
    expect(heap.byteLength).toBe(PAGE);
    expect(heap.alloc(PAGE * 2)).toBe(128);
    expect(heap.byteLength).toBe(3 * PAGE);
  });

  it('grows up to maximumPages exactly', () => {
    const heap = new WasmHeap({ maximumPages: 2 });
    expect(heap.alloc(2 * PAGE - 64)).toBe(64);
    expect(heap.byteLength).toBe(2 * PAGE);
  });

  it('works over a shared memory', () => {
    const heap = new WasmHeap({ shared: true, maximumPages: 64 });
    expect(heap.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    const a = heap.alloc(64);
    const ints = new Int32Array(heap.memory.buffer, a, 16);
    Atomics.store(ints, 0, 41);
    Atomics.add(ints, 0, 1);
    const big = heap.alloc(3 * PAGE);
    expect(heap.byteLength).toBe(alignUp(big + 3 * PAGE, PAGE));
    expect(heap.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    const grown = new Int32Array(heap.memory.buffer);
    expect(Atomics.load(grown, a / 4)).toBe(42);
    grown[(big + 3 * PAGE) / 4 - 1] = 5;
    heap.free(a);
    expect(heap.alloc(64)).toBe(a);
  });
});

describe('WasmHeap: errors', () => {
  it('rejects a double free and unknown offsets', () => {
    const heap = new WasmHeap();
    const a = heap.alloc(100);
    heap.free(a);
    expect(() => heap.free(a)).toThrow(LazygradError);
    expect(() => heap.free(a)).toThrow(/free: 64 is not a live block/);
    const b = heap.alloc(100);
    for (const bad of [0, b + 16, 12_345, -16, NaN]) expect(() => heap.free(bad)).toThrow(LazygradError);
    expect(() => heap.sizeOf(b + 16)).toThrow(/sizeOf: \d+ is not a live block/);
    expect(heap.blocksInUse).toBe(1);
  });

  it('rejects sizes that are not byte counts', () => {
    const heap = new WasmHeap();
    for (const bad of [-1, NaN, 1.5, Infinity, -Infinity, '8' as unknown as number])
      expect(() => heap.alloc(bad)).toThrow(LazygradError);
    expect(() => heap.alloc(-1)).toThrow(/non-negative integer number of bytes, got -1/);
    expect(() => heap.alloc(NaN)).toThrow(/got NaN/);
    expect(heap.blocksInUse).toBe(0);
  });

  it('says what was asked and how large the heap is when it cannot grow', () => {
    const heap = new WasmHeap({ maximumPages: 2 });
    const a = heap.alloc(100_000);
    let error: unknown;
    try {
      heap.alloc(50_000);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LazygradError);
    expect((error as Error).message).toMatch(
      /cannot allocate 50000 bytes: the heap is 131072 bytes \(100032 bytes in 1 live blocks\) and may grow to at most 131072 bytes \(maximumPages 2\)/,
    );
    expect(() => heap.alloc(2 ** 40)).toThrow(/cannot allocate 1099511627776 bytes/);
    // The failed requests left the heap as it was.
    expect(heap.byteLength).toBe(2 * PAGE);
    expect(heap.blocksInUse).toBe(1);
    heap.free(a);
    expect(heap.alloc(50_000)).toBe(64);
  });

  it('rejects bad options', () => {
    expect(() => new WasmHeap({ maximumPages: 0 })).toThrow(/maximumPages must be an integer in 1\.\.65536/);
    expect(() => new WasmHeap({ maximumPages: 65537 })).toThrow(LazygradError);
    expect(() => new WasmHeap({ initialPages: 3, maximumPages: 2 })).toThrow(
      /initialPages must be an integer in 0\.\.2/,
    );
    expect(() => new WasmHeap({ initialPages: -1 })).toThrow(LazygradError);
  });
});

describe('WasmHeap: random alloc/free sequences', () => {
  type Op = { alloc: number } | { free: number };
  const sizeArb = fc.oneof(
    fc.integer({ min: 0, max: 64 }),
    fc.integer({ min: 0, max: 5000 }),
    fc.integer({ min: 4000, max: 300_000 }),
  );
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 3, arbitrary: sizeArb.map((alloc) => ({ alloc })) },
    { weight: 2, arbitrary: fc.nat().map((free) => ({ free })) },
  );

  it('keeps live blocks disjoint, their data intact, and grows only when no gap fits', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), fc.boolean(), (ops, shared) => {
        const heap = new WasmHeap({ initialPages: 1, maximumPages: 1024, shared });
        const live = new Map<number, number>(); // ptr → bytes asked
        const tag = new Map<number, number>();
        let next = 1;
        const checkData = () => {
          const bytes = new Uint8Array(heap.memory.buffer);
          for (const [ptr, asked] of live) {
            if (asked === 0) continue;
            expect(bytes[ptr]).toBe(tag.get(ptr));
            expect(bytes[ptr + asked - 1]).toBe(tag.get(ptr));
          }
        };
        for (const op of ops) {
          if ('alloc' in op) {
            const length = heap.byteLength;
            const room = fits(heap, live.keys(), op.alloc);
            const ptr = heap.alloc(op.alloc);
            expect(live.has(ptr)).toBe(false);
            if (room) expect(heap.byteLength).toBe(length);
            else expect(heap.byteLength).toBeGreaterThan(length);
            live.set(ptr, op.alloc);
            const t = (next++ % 255) + 1;
            tag.set(ptr, t);
            const bytes = new Uint8Array(heap.memory.buffer);
            if (op.alloc > 0) bytes[ptr] = bytes[ptr + op.alloc - 1] = t;
          } else if (live.size > 0) {
            const ptr = [...live.keys()][op.free % live.size];
            heap.free(ptr);
            live.delete(ptr);
          }
          checkLayout(heap, live);
          checkData();
        }
        // Everything freed coalesces into one block again.
        for (const ptr of live.keys()) heap.free(ptr);
        const length = heap.byteLength;
        expect(heap.alloc(length - 64)).toBe(64);
        expect(heap.byteLength).toBe(length);
      }),
      { numRuns: 150 },
    );
  });
});

describe('WasmHeap: steady state', () => {
  it('keeps the memory size flat over 5,000 iterations of a mixed alloc/free pattern', () => {
    const heap = new WasmHeap();
    const persistent = [heap.alloc(4096), heap.alloc(24), heap.alloc(100_000)];
    const baseline = heap.blocksInUse;
    const sizes = [0, 24, 4096, 100, 65_536, 12, 3000, 200_000, 4100, 7, 1 << 20, 640, 48_000, 16];
    let carried: number[] = []; // half of the last iteration's blocks, freed during this one
    const lengths: number[] = [];
    for (let iter = 0; iter < 5000; iter++) {
      const mine: number[] = [];
      sizes.forEach((bytes, i) => {
        mine.push(heap.alloc(bytes));
        if (i % 2 === 1 && carried.length > 0) heap.free(carried.pop()!);
        if (i % 5 === 4) heap.free(mine.splice(1, 1)[0]); // a short-lived temporary
      });
      for (const ptr of carried) heap.free(ptr);
      carried = mine.filter((_, i) => i % 2 === 0);
      for (const ptr of mine.filter((_, i) => i % 2 === 1)) heap.free(ptr);
      expect(heap.blocksInUse).toBe(baseline + carried.length);
      lengths.push(heap.byteLength);
    }
    for (const ptr of carried) heap.free(ptr);
    expect(heap.blocksInUse).toBe(baseline);
    // The memory stops growing within the first iterations.
    const settled = lengths.findIndex((n) => n === lengths[lengths.length - 1]);
    expect(settled).toBeLessThan(5);
    expect(heap.byteLength).toBe(lengths[settled]);
    for (const ptr of persistent) heap.free(ptr);
    expect(heap.blocksInUse).toBe(0);
  });

  it('stays bounded when the same sizes come in a different order every iteration', () => {
    const sizes = [0, 24, 4096, 100, 65_536, 12, 3000, 200_000, 4100, 7, 1 << 20, 640, 48_000, 16];
    for (const start of [1, 2, 3]) {
      const heap = new WasmHeap();
      let seed = start;
      const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
      let carried: number[] = []; // a random half of the last iteration's blocks
      let peakLive = 0;
      for (let iter = 0; iter < 5000; iter++) {
        const order = [...sizes];
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(random() * (i + 1));
          [order[i], order[j]] = [order[j], order[i]];
        }
        const mine = order.map((bytes) => heap.alloc(bytes));
        peakLive = Math.max(peakLive, heap.bytesInUse);
        for (const ptr of carried) heap.free(ptr);
        carried = mine.filter(() => random() < 0.5);
        for (const ptr of mine) if (!carried.includes(ptr)) heap.free(ptr);
      }
      // Not flat (random orders fragment), but within twice the most ever live.
      expect(heap.byteLength).toBeLessThanOrEqual(2 * peakLive);
    }
  });
});
