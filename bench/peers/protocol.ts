/**
 * What `bench/run.ts --peers` and its peer processes say to each other.
 *
 * Every side of the comparison (lazygrad on one backend, jax-js, tfjs) is an
 * `Impl`: it names the variants it runs per workload and prepares a case
 * (inputs, jitted function, numerical checks against the plain-JS
 * references). A `Host` (host.ts) keeps the prepared cases and answers
 * requests; lazygrad's hosts live in the parent, each peer's host in its own
 * child process (child.ts), which reads one JSON request per line on stdin
 * and prints one JSON reply per line on stdout, each prefixed with
 * `LINE_PREFIX` so that whatever a library prints itself is told apart.
 *
 *   child → parent, once: {type:'hello', info, variants}
 *   parent → child: {op:'prepare', id, spec}  → {type:'prepared', id, checks, note, firstMs}
 *                   {op:'measure', id, samples, minMs} → {type:'samples', id, ms}
 *                   {op:'dispose', id}          → {type:'disposed', id}
 *                   {op:'quit'}                 (the child exits)
 *   any failure:    {type:'error', id?, message}
 */

export const PEER_WORKLOADS = ['W1', 'W2', 'W3', 'W4'] as const;
export type PeerWorkload = (typeof PEER_WORKLOADS)[number];

/** Problem sizes per workload: W1's N; the others have one fixed size (BENCH.md), written as its element count. */
export const W1_SIZES = [256, 512, 1024];

export interface CaseSpec {
  workload: PeerWorkload;
  /** W1: N; W2: elements; W3: rows (× W3_COLS); W4: batch. */
  size: number;
  variant: string;
}

/** One numerical comparison with a plain-JS reference. */
export interface Check {
  what: string;
  err: number;
  tol: number;
  ok: boolean;
}

/** A case ready to be timed: `call` computes the result and reads it back to the host. */
export interface Prepared {
  call: () => void | Promise<void>;
  checks: Check[];
  /** A short line for the report (e.g. W4's losses). */
  note?: string;
  /** Untimed calls before measuring (default 3). */
  warmup?: number;
  dispose?: () => void;
}

export interface PeerInfo {
  /** Row label: 'lazygrad js', 'jax-js', 'tfjs'. */
  name: string;
  version: string;
  /** 'wasm (SIMD, 1 thread)' and the like. */
  device: string;
  notes: string[];
}

export interface Impl {
  info(): Promise<PeerInfo>;
  variants(w: PeerWorkload): string[];
  prepare(spec: CaseSpec): Promise<Prepared>;
}

export type Request =
  | { op: 'prepare'; id: string; spec: CaseSpec }
  | { op: 'measure'; id: string; samples: number; minMs: number }
  | { op: 'dispose'; id: string }
  | { op: 'quit' };

export type Reply =
  | { type: 'hello'; info: PeerInfo; variants: Record<PeerWorkload, string[]> }
  | { type: 'prepared'; id: string; checks: Check[]; note?: string; firstMs: number }
  | { type: 'samples'; id: string; ms: number[] }
  | { type: 'disposed'; id: string }
  | { type: 'error'; id?: string; message: string };

export const LINE_PREFIX = '@@bench-peer ';

/** Peer names accepted by `--peers=` and child.ts, with their modules. */
export const PEERS = {
  jaxjs: './jaxjs',
  tfjs: './tfjs',
} as const;
export type PeerName = keyof typeof PEERS;
