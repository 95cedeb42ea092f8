import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { analyze } from '../src/net/analyze.js';
import { CIFAR10_IO } from '../src/net/presets.js';
import { compileDNA, parseDNA, renderDNA, validateDNA } from '../src/spaces/graph/index.js';
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
    assert.match(r.stdout, /^vertices \d+, convolutions \d+, skips \d+, learning rate [\d.e-]+$/m);
    // The paper's budget per individual, Ft·Nt + Fv·Nv: 25,600 steps of 50 images trained, 5,000 validated.
    const printed = Number(/cost Ft·Nt \+ Fv·Nv = ([\d.e+]+) FLOPs/.exec(r.stdout)![1]);
    const paper = a.trainFlopsPerImage * 25_600 * 50 + a.forwardFlops * 5_000;
    assert.ok(Math.abs(printed - paper) / paper < 1e-3, `${printed} vs ${paper}`);
    assert.ok(a.trainFlopsPerImage > 2 * a.forwardFlops, 'training an image costs more than twice its forward pass');
    const bad = join(root, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...dna, version: 9 }));
    const e = await runCli(['dna', 'render', bad, '--out', join(root, 'x.svg')]);
    assert.equal(e.code, 1);
    assert.match(e.stderr, /bad\.json: Invalid DNA at version: expected 1 but found 9/);
  });

  it('makes, draws and describes the other spaces through the registry (--space)', async () => {
    const file = join(root, 'stages.json');
    const r = await runCli(['dna', 'random', '--space', 'stages', '--seed', '3', '--out', file]);
    assert.equal(r.code, 0, r.stderr);
    const info = await runCli(['dna', 'info', file, '--space', 'stages', '--settings', '{"widths": [4, 4, 8]}']);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /^bits [01-]+ [01-]+ [01-]+$/m);
    const narrow = Number(/parameters (\d+)/.exec(info.stdout)![1]);
    const wide = Number(/parameters (\d+)/.exec((await runCli(['dna', 'info', file, '--space', 'stages'])).stdout)![1]);
    assert.ok(narrow < wide, `--settings reach the compile: ${narrow} < ${wide}`);
    const cell = join(root, 'cell.json');
    assert.equal((await runCli(['dna', 'random', '--space', 'nb201', '--mutations', '3', '--out', cell])).code, 0);
    const svg = await runCli(['dna', 'render', cell, '--space', 'nb201', '--out', join(root, 'cell.svg')]);
    assert.equal(svg.code, 0, svg.stderr);
    const bad = await runCli(['dna', 'info', file, '--space', 'stages', '--settings', '{"widths": [4]}']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--settings: stages\.widths: expected one width per stage \(3\) but found 1/);
    const wrong = await runCli(['dna', 'info', file, '--space', 'graph']);
    assert.equal(wrong.code, 1, 'a stages DNA is not a graph DNA');
    assert.match((await runCli(['dna', 'info', file, '--space', 'cells'])).stderr, /--space: Expected a search space \(graph, stages, nb201\)/);
  });
});
