/**
 * Keeps one side's prepared cases and answers the requests of protocol.ts:
 * in the parent for lazygrad's backends, in child.ts for a peer.
 */
import { sampleCalls } from '../harness';
import { type Impl, PEER_WORKLOADS, type PeerWorkload, type Prepared, type Reply, type Request } from './protocol';

export class Host {
  private readonly cases = new Map<string, Prepared>();

  constructor(readonly impl: Impl) {}

  async hello(): Promise<Reply> {
    const variants = Object.fromEntries(PEER_WORKLOADS.map((w) => [w, this.impl.variants(w)])) as Record<
      PeerWorkload,
      string[]
    >;
    return { type: 'hello', info: await this.impl.info(), variants };
  }

  async handle(req: Request): Promise<Reply> {
    const id = 'id' in req ? req.id : undefined;
    try {
      switch (req.op) {
        case 'prepare': {
          const p = await this.impl.prepare(req.spec);
          this.cases.set(req.id, p);
          // The first call (compiles whatever the library compiles), then the rest of the warm-up.
          const t = performance.now();
          await p.call();
          const firstMs = performance.now() - t;
          for (let i = 1; i < (p.warmup ?? 3); i++) await p.call();
          return { type: 'prepared', id: req.id, checks: p.checks, note: p.note, firstMs };
        }
        case 'measure': {
          const p = this.cases.get(req.id);
          if (!p) throw new Error(`no prepared case '${req.id}'`);
          return { type: 'samples', id: req.id, ms: await sampleCalls(p.call, req.samples, req.minMs) };
        }
        case 'dispose':
          this.cases.get(req.id)?.dispose?.();
          this.cases.delete(req.id);
          return { type: 'disposed', id: req.id };
        case 'quit':
          return { type: 'disposed', id: '' };
        default:
          return req satisfies never;
      }
    } catch (e) {
      return { type: 'error', id, message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    }
  }
}
