import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { analyze } from '../src/net/analyze.js';
import { CIFAR10_IO } from '../src/net/presets.js';
import { compileDNA, dnaCost, parseDNA, renderDNA, validateDNA } from '../src/spaces/graph/index.js';
import { runCli } from './support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'evonas-dna-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('evonas dna', () => {
  it('random is reproducible from its seed and gives a valid DNA', async () => {
    const a = await runCli(['dna', 'random', '--mutations', '30', '--seed', '7']);
    const b = await runCli(['dna', 'random', '--mutations', '30', '--seed', '7']);
    const c = await runCli(['dna', 'random', '--mutations', '30', '--seed', '8']);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
    assert.notEqual(a.stdout, c.stdout);
    validateDNA(JSON.parse(a.stdout));
  });

  it('render draws every vertex, convolution and skip; PNG output decodes', async () => {
    let dna: ReturnType<typeof parseDNA>;
    for (let seed = 0; ; seed++) {
      dna = parseDNA((await runCli(['dna', 'random', '--mutations', '40', '--seed', String(seed)])).stdout);
      if (dna.edges.some((e) => e.skip) && dna.edges.some((e) => e.kind === 'conv')) break;
    }
    const file = join(root, 'dna.json');
    writeFileSync(file, JSON.stringify(dna));
    const svg = renderDNA(dna, CIFAR10_IO);
    for (const v of dna.vertices) assert.ok(svg.includes(`>${v.id}</text>`), v.id);
    for (const e of dna.edges.filter((x) => x.kind === 'conv')) assert.match(svg, new RegExp(`${e.id}: conv \\d+×\\d+, stride \\d+, → \\d+ ch`));
    assert.equal((svg.match(/stroke-dasharray/g) ?? []).length, dna.edges.filter((e) => e.skip).length);
    const png = join(root, 'dna.png');
    const r = await runCli(['dna', 'render', file, '--out', png]);
    assert.equal(r.code, 0, r.stderr);
    const meta = await sharp(readFileSync(png)).metadata();
    assert.equal(meta.format, 'png');
    assert.ok(meta.height! > 100);
  });

  it('info gives parameters and the paper cost; bad files are refused with the reason', async () => {
    const file = join(root, 'dna.json');
    const r = await runCli(['dna', 'info', file]);
    assert.equal(r.code, 0, r.stderr);
    const dna = parseDNA(readFileSync(file, 'utf8'));
    const a = analyze(compileDNA(dna, CIFAR10_IO));
    assert.match(r.stdout, new RegExp(`parameters ${a.params},`));
    // The paper's Ft·Nt + Fv·Nv, from the analysis's own per-image figures: 100 steps of 50 images, 5,000 validated.
    assert.equal(dnaCost(dna, CIFAR10_IO, { trainSteps: 100, batchSize: 50, validationImages: 5000 }), a.trainFlopsPerImage * 100 * 50 + a.forwardFlops * 5000);
    assert.ok(a.trainFlopsPerImage > 2 * a.forwardFlops, 'training an image costs more than twice its forward pass');
    const bad = join(root, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...dna, version: 9 }));
    const e = await runCli(['dna', 'render', bad, '--out', join(root, 'x.svg')]);
    assert.equal(e.code, 1);
    assert.match(e.stderr, /bad\.json: Invalid DNA at version: expected 1 but found 9/);
  });
});
