// The seeded generator: the same seed gives the same stream, and fork derives
// from the stream's state (so forks at different points differ) without
// advancing it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from '../src/util/rng.js';

const draws = (r: { next(): number }, n: number) => Array.from({ length: n }, () => r.next());

describe('rng', () => {
  it('repeats for a seed; forks follow the state, not the seed, and leave the parent as it was', () => {
    assert.deepEqual(draws(createRng(7), 5), draws(createRng(7), 5));
    assert.notDeepEqual(draws(createRng(7), 5), draws(createRng(8), 5));
    const a = createRng(7);
    const b = createRng(7);
    assert.deepEqual(draws(a.fork('x'), 5), draws(b.fork('x'), 5), 'same point, same label');
    assert.deepEqual(draws(a, 3), draws(b, 3), 'forking did not advance the parent');
    const early = draws(createRng(7).fork('x'), 5);
    assert.notDeepEqual(draws(a.fork('x'), 5), early, 'a later point gives another fork');
    assert.notDeepEqual(draws(createRng(7).fork('y'), 5), early, 'another label gives another fork');
  });
});
