/** Re-checks a whole graph (after parsing, after passes) with the verifier. */
import { type Graph, verifyGraph } from '../ir';

export function typecheck(g: Graph): Graph {
  verifyGraph(g);
  return g;
}
