/**
 * `bench/run.ts --peers`: lazygrad (its default backend, plus `wasm` once it
 * is registered, or the backends named by `--backend`) against jax-js and
 * tfjs-wasm on W1-W4, one child process per peer. Every case is prepared and
 * checked first (host.ts, common.ts); then all cases are timed in interleaved
 * rounds (lazygrad's and the peers' alike, the starting case rotating from
 * round to round), and the medians are compared as ratios measured in this
 * run. Writes bench/PEERS.md.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as lg from '../../src/index';
import { fmt, median } from '../harness';
import { W2_SIZE, W3_ROWS } from './common';
import { Host } from './host';
import { lazygradImpl } from './lazygrad';
import {
  type Check,
  LINE_PREFIX,
  PEER_WORKLOADS,
  type PeerInfo,
  type PeerName,
  type PeerWorkload,
  type Reply,
  type Request,
  W1_SIZES,
} from './protocol';
import { W4_BATCH } from '../reference';

export interface PeersOptions {
  /** Workloads to run (W1..W4); null: all. */
  only: Set<string> | null;
  /** lazygrad backends; null: the current one and `wasm` if registered. */
  backends: string[] | null;
  /** Thread counts each lazygrad backend runs at (one side each); null: the default only. */
  threads: number[] | null;
  peers: PeerName[];
  quick: boolean;
  /** The command line, for the report. */
  command: string;
  log: (s: string) => void;
}

/** BENCH.md's earlier peer figures (2-core EPYC, Node 20.20), shown next to this run's. */
const EARLIER: Record<string, Partial<Record<string, string>>> = {
  'jax-js': { 'W1 1024 jit': '21.9 GFLOP/s', 'W2 jit': '21.3 ms', 'W3 jit': '34.7 ms', 'W4 jit step': '10.7 ms' },
  tfjs: {
    'W1 1024 ops': '29.5 GFLOP/s',
    'W2 ops': '24.0 ms',
    'W3 built-in softmax': '10.0 ms',
    'W3 as ops': '42.8 ms',
    'W4 eager step': '88.3 ms',
  },
};

interface Side {
  info: PeerInfo;
  variants: Record<PeerWorkload, string[]>;
  lazygrad?: string; // backend name, for lazygrad's sides
  request(req: Request): Promise<Reply>;
  close(): void;
}

/** A lazygrad side's key: the backend, and the thread count when the run compares several (`wasm 2t`). */
const sideKey = (backend: string, threads?: number) => (threads === undefined ? backend : `${backend} ${threads}t`);

function localSide(backend: string, threads?: number): Promise<Side> {
  const host = new Host(lazygradImpl(backend, threads));
  return host.hello().then((hello) => {
    if (hello.type !== 'hello') throw new Error(hello.type === 'error' ? hello.message : 'no hello');
    return { ...hello, lazygrad: sideKey(backend, threads), request: (r) => host.handle(r), close: () => {} };
  });
}

/** Starts bench/peers/child.ts for one peer (same node flags, i.e. the tsx loader) and waits for its hello. */
function remoteSide(name: PeerName, log: (s: string) => void): Promise<Side> {
  const file = fileURLToPath(new URL('./child.ts', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [...process.execArgv, file, name], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let waiting: ((r: Reply) => void) | undefined;
  let dead: Reply | undefined; // the exit, answering every later request
  let stderr = '';
  let buf = '';
  const deliver = (r: Reply) => {
    const w = waiting;
    waiting = undefined;
    w?.(r);
  };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith(LINE_PREFIX)) deliver(JSON.parse(line.slice(LINE_PREFIX.length)) as Reply);
      else if (line.trim()) log(`    [${name}] ${line.slice(0, 200)}`);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  child.on('exit', (code) => {
    dead = { type: 'error', message: `${name} process exited (code ${code}); stderr: ${stderr.slice(-1500)}` };
    deliver(dead);
  });
  const next = () => new Promise<Reply>((resolve) => (dead ? resolve(dead) : (waiting = resolve)));
  return next().then((hello) => {
    if (hello.type !== 'hello') {
      child.kill();
      throw new Error(hello.type === 'error' ? hello.message : `unexpected ${hello.type}`);
    }
    return {
      ...hello,
      request: (req) => {
        const r = next();
        child.stdin!.write(JSON.stringify(req) + '\n');
        return r;
      },
      close: () => {
        child.stdin!.end(JSON.stringify({ op: 'quit' }) + '\n');
      },
    };
  });
}

interface Row {
  side: Side;
  variant: string;
  id: string;
  checks: Check[];
  note?: string;
  firstMs: number;
  samples: number[];
}

const sizesOf = (w: PeerWorkload): number[] =>
  w === 'W1' ? W1_SIZES : w === 'W2' ? [W2_SIZE] : w === 'W3' ? [W3_ROWS] : [W4_BATCH];

/** Calls per case per round; more calls while under minMs. */
function samplesOf(w: PeerWorkload, size: number, quick: boolean): { samples: number; minMs: number } {
  const s = w === 'W1' ? (size >= 1024 ? 2 : size >= 512 ? 3 : 5) : 5;
  return quick ? { samples: Math.max(1, Math.ceil(s / 2)), minMs: 100 } : { samples: s, minMs: 300 };
}

const firstLine = (s: string) => s.split('\n')[0];
const title = (w: PeerWorkload, size: number) =>
  w === 'W1'
    ? `W1: matmul ${size}×${size}·${size}×${size}`
    : w === 'W2'
      ? 'W2: y = tanh(x*1.5+0.5)*sigmoid(x) + x*x, 1M floats'
      : w === 'W3'
        ? `W3: row softmax ${size}×1024`
        : `W4: MLP 784-512-10 SGD step, batch ${size}`;

export async function runPeers(o: PeersOptions): Promise<void> {
  const { log } = o;
  const t0 = performance.now();
  const load0 = os.loadavg()[0];
  const notes: string[] = [];
  const findings: string[] = [];
  const rounds = o.quick ? 2 : 5;

  // ---- sides
  const registered = lg.backendNames();
  const backends = o.backends ?? [...new Set([lg.getBackend(), 'wasm'])];
  const threadCounts = o.threads ?? [undefined];
  const wanted = backends.flatMap((b) => threadCounts.map((n) => sideKey(b, n)));
  const sides: Side[] = [];
  /** lazygrad sides asked for but not run, with the reason (their targets read SKIP). */
  const missing = new Map<string, string>();
  for (const b of backends) {
    for (const n of threadCounts) {
      try {
        if (!registered.includes(b)) throw new Error(`not registered (lg.backendNames(): ${registered.join(', ')})`);
        sides.push(await localSide(b, n));
      } catch (e) {
        missing.set(sideKey(b, n), firstLine(String(e instanceof Error ? e.message : e)));
        const note = `lazygrad '${sideKey(b, n)}' skipped: ${missing.get(sideKey(b, n))}`;
        notes.push(note);
        log(`  ${note}`);
      }
    }
  }
  log(`  starting peers: ${o.peers.join(', ')} ...`);
  const started = await Promise.allSettled(o.peers.map((p) => remoteSide(p, log)));
  started.forEach((s, k) => {
    if (s.status === 'fulfilled') sides.push(s.value);
    else {
      const n = `peer ${o.peers[k]} skipped: ${firstLine(String(s.reason instanceof Error ? s.reason.message : s.reason))}`;
      notes.push(n);
      findings.push(n);
      log(`  ${n}`);
    }
  });
  for (const s of sides) log(`  side: ${s.info.name} ${s.info.version} — ${s.info.device}`);

  const md: string[] = [];
  const results = new Map<string, Row[]>(); // `${w} ${size}` → rows

  try {
    for (const w of PEER_WORKLOADS) {
      if (o.only && !o.only.has(w)) continue;
      for (const size of sizesOf(w)) {
        log(`${title(w, size)}`);
        // ---- prepare and check every case
        const rows: Row[] = [];
        for (const side of sides) {
          for (const variant of side.variants[w]) {
            const id = `${w}-${size}-${variant}`;
            const label = `${side.info.name} ${variant}`;
            const r = await side.request({ op: 'prepare', id, spec: { workload: w, size, variant } });
            if (r.type !== 'prepared') {
              const n = `${w} ${size} ${label}: failed: ${r.type === 'error' ? firstLine(r.message) : r.type}`;
              log(`  ${n}`);
              if (r.type === 'error' && !side.lazygrad) log(r.message.split('\n').slice(0, 6).join('\n'));
              notes.push(n);
              findings.push(n);
              continue;
            }
            for (const c of r.checks) {
              log(
                `  check ${label}: ${c.what}: max |diff| ${c.err.toExponential(2)} ${c.ok ? 'ok' : `MISMATCH (tol ${c.tol})`}`,
              );
            }
            if (r.note) log(`  ${label}: ${r.note}`);
            if (!r.checks.every((c) => c.ok)) {
              const n = `WRONG RESULT: ${w} ${size} ${label}: ${r.checks
                .filter((c) => !c.ok)
                .map((c) => `${c.what} ${c.err} > ${c.tol}`)
                .join('; ')} — not timed`;
              notes.push(n);
              findings.push(n);
              await side.request({ op: 'dispose', id });
              continue;
            }
            rows.push({ side, variant, id, checks: r.checks, note: r.note, firstMs: r.firstMs, samples: [] });
          }
        }
        // ---- interleaved rounds
        const { samples, minMs } = samplesOf(w, size, o.quick);
        for (let round = 0; round < rounds; round++) {
          for (let k = 0; k < rows.length; k++) {
            const row = rows[(k + round) % rows.length];
            const r = await row.side.request({ op: 'measure', id: row.id, samples, minMs });
            if (r.type !== 'samples')
              throw new Error(`${row.side.info.name} ${row.id}: ${r.type === 'error' ? r.message : r.type}`);
            row.samples.push(...r.ms);
          }
        }
        for (const row of rows) {
          await row.side.request({ op: 'dispose', id: row.id });
          log(
            `  ${`${row.side.info.name} ${row.variant}`.padEnd(34)} ${fmt(median(row.samples))} ms (min ${fmt(Math.min(...row.samples))}, n=${row.samples.length})`,
          );
        }
        results.set(`${w} ${size}`, rows);
        md.push(...section(w, size, rows));
      }
    }
  } finally {
    for (const s of sides) s.close();
  }

  // ---- targets
  const targets = [...targetLines(results, wanted, missing), ...threadTargetLines(results, backends, threadCounts)];
  for (const t of targets) if (t.startsWith('FAIL')) findings.push(t);
  log('\nTargets (ratios of medians from this run):');
  for (const t of targets) log(`  ${t}`);
  const earlier = earlierLines(results);
  if (earlier.length) {
    log('\nPeers against BENCH.md’s earlier figures (other machine and run):');
    for (const e of earlier) log(`  ${e}`);
  }

  const s = samplesOf('W4', 0, o.quick);
  const head = [
    '# lazygrad against its peers (jax-js, tfjs-wasm)',
    '',
    `\`${o.command}\` — ${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length}× ${os.cpus()[0]?.model ?? '?'}, ` +
      `${fmt((performance.now() - t0) / 1000)} s in all; 1-minute load average ${load0.toFixed(2)} at the start, ` +
      `${os.loadavg()[0].toFixed(2)} at the end (above the core count, other work competed with this run)`,
    '',
    ...sides.map(
      (x) =>
        `- ${x.info.name} ${x.info.version}: ${x.info.device}${x.info.notes.length ? ` (${x.info.notes.join('; ')})` : ''}`,
    ),
    ...notes.map((n) => `- ${n}`),
    '',
    'Every side gets the same inputs (one seeded generator, bench/peers/common.ts) and is checked against the hand-written ' +
      'loops before it is timed (a 64×64 matmul in full and 256 entries of each W1 size, W2 and W3 in full, W4 parameters ' +
      'after one step and the losses of 5 steps). Each peer runs in its own process; every case is warmed up, then timed in ' +
      `${rounds} interleaved rounds (lazygrad and peers alike, ${s.samples}+ single calls per round and case, W1: fewer at large N, ` +
      `more while under ${s.minMs} ms), each call reading its result back (\`dataSync()\`/\`item()\`; \`await data()\` for the peers). ` +
      'Medians; ratios compare medians from this run. "First call" is the first call after preparing (its compile included).',
    '',
    '## Targets',
    '',
    ...targets.map((t) => `- ${t}`),
    '',
    ...(earlier.length ? ['## Peers against BENCH.md’s earlier figures', '', ...earlier.map((e) => `- ${e}`), ''] : []),
  ];
  const tail = findings.length
    ? ['## Missed targets, failures and mismatches', '', ...findings.map((f) => `- ${f}`), '']
    : [];
  writeFileSync(new URL('../PEERS.md', import.meta.url), [...head, ...md, ...tail].join('\n'));
  log(`\nwrote bench/PEERS.md (${fmt((performance.now() - t0) / 1000)} s)`);
}

function section(w: PeerWorkload, size: number, rows: Row[]): string[] {
  const flop = w === 'W1' ? 2 * size ** 3 : 0;
  const table = [
    `| side | variant | median ms | min ms | n | ${flop ? 'GFLOP/s | ' : ''}first call ms | largest check error |`,
    `|---|---|---:|---:|---:|${flop ? '---:|' : ''}---:|---:|`,
    ...rows.map((r) => {
      const m = median(r.samples);
      const err = Math.max(...r.checks.map((c) => c.err));
      return `| ${r.side.info.name} | ${r.variant} | ${fmt(m)} | ${fmt(Math.min(...r.samples))} | ${r.samples.length} | ${
        flop ? `${fmt(flop / (m * 1e6))} | ` : ''
      }${fmt(r.firstMs)} | ${err.toExponential(1)} |`;
    }),
  ];
  const lgRows = rows.filter((r) => r.side.lazygrad);
  const peerRows = rows.filter((r) => !r.side.lazygrad);
  const ratios =
    lgRows.length && peerRows.length
      ? [
          '',
          'lazygrad time / peer time (lower is faster; below 1: lazygrad is faster):',
          '',
          `| lazygrad | ${peerRows.map((p) => `${p.side.info.name} ${p.variant}`).join(' | ')} |`,
          `|---|${peerRows.map(() => '---:').join('|')}|`,
          ...lgRows.map(
            (l) =>
              `| ${l.side.info.name} ${l.variant} | ${peerRows.map((p) => `${fmt(median(l.samples) / median(p.samples))}×`).join(' | ')} |`,
          ),
        ]
      : [];
  const extra = rows.filter((r) => r.note).map((r) => `- ${r.side.info.name}: ${r.note}`);
  return [`## ${title(w, size)}`, '', ...table, ...ratios, '', ...extra, ...(extra.length ? [''] : [])];
}

function targetLines(results: Map<string, Row[]>, backends: string[], missing: Map<string, string>): string[] {
  const lines: string[] = [];
  const find = (key: string, peer: string, variant: string) =>
    results.get(key)?.find((r) => !r.side.lazygrad && r.side.info.name === peer && r.variant === variant);
  type T = { key: string; what: string; peer: string; variant: string; goal: number; speed: boolean };
  const list: T[] = [
    { key: 'W1 1024', what: 'W1 1024 GFLOP/s', peer: 'jax-js', variant: 'jit', goal: 1.5, speed: true },
    { key: 'W1 1024', what: 'W1 1024 GFLOP/s', peer: 'tfjs', variant: 'ops', goal: 1.2, speed: true },
    { key: `W2 ${W2_SIZE}`, what: 'W2 time', peer: 'jax-js', variant: 'jit', goal: 0.6, speed: false },
    { key: `W3 ${W3_ROWS}`, what: 'W3 time', peer: 'tfjs', variant: 'built-in softmax', goal: 1.0, speed: false },
    { key: `W4 ${W4_BATCH}`, what: 'W4 jit step time', peer: 'jax-js', variant: 'jit step', goal: 0.8, speed: false },
  ];
  for (const b of backends) {
    for (const t of list) {
      const vs = `${t.peer}${t.variant === 'jit' || t.variant === 'ops' ? '' : ` ${t.variant}`}`;
      const name = `${t.what}, lazygrad ${b} / ${vs}`;
      const goal = `${t.speed ? '≥' : '≤'} ${t.goal}`;
      const rows = results.get(t.key);
      if (!rows) continue; // workload not selected
      const l = rows.find((r) => r.side.lazygrad === b);
      const p = find(t.key, t.peer, t.variant);
      if (!l || !p) {
        const why = missing.get(b) ?? (!l ? 'no result' : `${t.peer} has no result (not run or failed)`);
        lines.push(`SKIP: ${name} (target ${goal}): ${!l ? `lazygrad ${b}: ${why}` : why}`);
        continue;
      }
      const ratio = t.speed ? median(p.samples) / median(l.samples) : median(l.samples) / median(p.samples);
      const ok = t.speed ? ratio >= t.goal : ratio <= t.goal;
      lines.push(`${ok ? 'PASS' : 'FAIL'}: ${name} = ${fmt(ratio)} (target ${goal})`);
    }
  }
  return lines;
}

/**
 * The threads targets, where the run has a backend at 1 and 2 threads:
 * W1 1024 at 2 threads >= 1.8x the GFLOP/s at 1; the W4 step at 2 threads
 * <= 0.6x the time at 1, and <= 0.5x jax-js's step.
 */
function threadTargetLines(results: Map<string, Row[]>, backends: string[], counts: (number | undefined)[]): string[] {
  if (!counts.includes(1) || !counts.includes(2)) return [];
  const lines: string[] = [];
  const side = (key: string, lazygrad: string) => results.get(key)?.find((r) => r.side.lazygrad === lazygrad);
  const peer = (key: string, name: string, variant: string) =>
    results.get(key)?.find((r) => !r.side.lazygrad && r.side.info.name === name && r.variant === variant);
  for (const b of backends) {
    const check = (name: string, key: string, fast?: Row, slow?: Row, goal = 0, speed = false) => {
      if (!results.has(key)) return;
      if (!fast || !slow) return void lines.push(`SKIP: ${name}: no result`);
      const ratio = speed ? median(slow.samples) / median(fast.samples) : median(fast.samples) / median(slow.samples);
      const ok = speed ? ratio >= goal : ratio <= goal;
      lines.push(`${ok ? 'PASS' : 'FAIL'}: ${name} = ${fmt(ratio)} (target ${speed ? '≥' : '≤'} ${goal})`);
    };
    const [t1, t2] = [sideKey(b, 1), sideKey(b, 2)];
    const w4 = `W4 ${W4_BATCH}`;
    check(`W1 1024 GFLOP/s, lazygrad ${t2} / ${t1}`, 'W1 1024', side('W1 1024', t2), side('W1 1024', t1), 1.8, true);
    check(`W4 jit step time, lazygrad ${t2} / ${t1}`, w4, side(w4, t2), side(w4, t1), 0.6);
    check(`W4 jit step time, lazygrad ${t2} / jax-js jit step`, w4, side(w4, t2), peer(w4, 'jax-js', 'jit step'), 0.5);
  }
  return lines;
}

function earlierLines(results: Map<string, Row[]>): string[] {
  const lines: string[] = [];
  for (const [key, rows] of results) {
    const [w, size] = key.split(' ');
    for (const r of rows) {
      if (r.side.lazygrad) continue;
      const k = w === 'W1' ? `W1 ${size} ${r.variant}` : `${w} ${r.variant}`;
      const then = EARLIER[r.side.info.name]?.[k];
      if (!then) continue;
      const m = median(r.samples);
      const now = w === 'W1' ? `${fmt((2 * Number(size) ** 3) / (m * 1e6))} GFLOP/s` : `${fmt(m)} ms`;
      lines.push(`${r.side.info.name} ${k}: ${now} (BENCH.md: ${then})`);
    }
  }
  return lines;
}
