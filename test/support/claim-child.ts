// One of several processes racing for the same leases: at `startAt` it tries
// to claim every key once, holds what it won for `holdMs` (heartbeating and
// then releasing, or, when it `dies`, neither), and prints the keys it won.
import { LeaseClaims } from '../../src/store/claims.js';

const [root, worker, keys, startAt, leaseMs, holdMs, dies] = process.argv.slice(2);
const claims = new LeaseClaims(root!);
while (Date.now() < Number(startAt)) await new Promise((r) => setTimeout(r, 1));
const won: string[] = [];
for (let k = 0; k < Number(keys); k++) if (claims.claim(`k${k}`, worker!, Number(leaseMs))) won.push(`k${k}`);
const until = Date.now() + Number(holdMs);
while (Date.now() < until) {
  if (dies !== '1') for (const key of won) claims.heartbeat(key);
  await new Promise((r) => setTimeout(r, 20));
}
const stillHeld = won.filter((key) => claims.holds(key));
if (dies !== '1') for (const key of won) claims.release(key, worker!); // the dead never release
console.log(JSON.stringify({ won, stillHeld }));
