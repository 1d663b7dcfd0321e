/** Dead-code elimination: keeps only the nodes the outputs depend on. */
import { type Graph, graphFrom } from '../ir';

export function dce(g: Graph): Graph {
  return graphFrom(g.name, g.params, g.outputs);
}
