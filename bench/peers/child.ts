/**
 * One peer library in its own process: `node <tsx loader> bench/peers/child.ts
 * <jaxjs|tfjs>`, started by `bench/run.ts --peers`. Speaks protocol.ts on
 * stdin/stdout: a hello line, then one reply per request line.
 */
import { createInterface } from 'node:readline';
import { Host } from './host';
import { type Impl, LINE_PREFIX, PEERS, type PeerName, type Reply, type Request } from './protocol';

const send = (r: Reply) => process.stdout.write(LINE_PREFIX + JSON.stringify(r) + '\n');

const name = process.argv[2] as PeerName;
if (!(name in PEERS)) {
  send({
    type: 'error',
    message: `bench/peers/child.ts: unknown peer '${name}' (expected ${Object.keys(PEERS).join(', ')})`,
  });
  process.exit(2);
}

let host: Host;
try {
  const mod = (await import(PEERS[name])) as { createImpl: () => Promise<Impl> };
  host = new Host(await mod.createImpl());
  send(await host.hello());
} catch (e) {
  send({
    type: 'error',
    message: `${name} failed to start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
  });
  process.exit(1);
}

// One request at a time, in order (the parent waits for each reply anyway).
let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.trim()) return;
  queue = queue.then(async () => {
    const req = JSON.parse(line) as Request;
    if (req.op === 'quit') process.exit(0);
    send(await host.handle(req));
  });
});
process.stdin.on('end', () => void queue.then(() => process.exit(0)));
