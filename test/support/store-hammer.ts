// One process of the store concurrency test (a folder or a postgresql:// URL): `workers` async loops run the
// paper's tournament step against a shared store with a fake evaluator until
// this process has made `births` children. Prints what it did as JSON.
import { closeStore, newIndividualId, openStore } from '../../src/store/index.js';
import type { IndividualRecord } from '../../src/store/index.js';
import { createRng } from '../../src/util/rng.js';

const [location, births, workers, setpoint, seed] = process.argv.slice(2);
const store = await openStore(location!);
const target = Number(births);
let made = 0;
const born: string[] = [];
const killed: string[] = [];
const collected: string[] = [];
let conflicts = 0;

async function worker(w: number): Promise<void> {
  const rng = createRng(Number(seed) * 1000 + w);
  let steps = 0;
  while (made < target) {
    steps++;
    if (steps % 50 === 0) collected.push(...(await store.collectGarbage(500)));
    const pair = await store.sample(2, () => rng.next());
    if (pair.length < 2) continue;
    const [a, b] = [pair[0]!, pair[1]!];
    const [better, worse] = (a.fitness ?? 0) >= (b.fitness ?? 0) ? [a, b] : [b, a];
    if ((await store.aliveCount()) >= Number(setpoint)) {
      if ((await store.kill(worse.id, `p${seed}w${w}`)) === 'killed') killed.push(worse.id);
      else conflicts++;
      continue;
    }
    let weights: Buffer;
    try {
      weights = await store.readWeights(better.id); // take what the child needs first
    } catch {
      conflicts++;
      continue;
    }
    if (made >= target) break;
    made++;
    const child: IndividualRecord = {
      ...better,
      id: newIndividualId(),
      parent: better.id,
      worker: `p${seed}w${w}`,
      bornAt: new Date().toISOString(),
      fitness: Math.min(1, (better.fitness ?? 0) + (rng.next() - 0.4) * 0.01),
      stepsTrained: better.stepsTrained + 1,
    };
    await store.put(child, [weights]);
    born.push(child.id);
  }
}

await Promise.all(Array.from({ length: Number(workers) }, (_, w) => worker(w)));
await closeStore(store);
process.stdout.write(JSON.stringify({ born, killed, collected, conflicts }));
