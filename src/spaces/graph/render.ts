/**
 * An SVG drawing of a graph DNA: the backbone top to bottom, one box per
 * vertex (id, activation, output shape), each backbone edge labelled with its
 * convolution (kernel, stride, output channels) or "identity", skip
 * connections as dashed arcs on the left, and backbone edges that jump (a
 * fused graph's branches, each from the input and into the sum) as solid
 * arcs on the right, labelled where a backbone edge into their target would be. The report reuses it.
 */
import type { IOSpec } from '../../net/presets.js';
import { vertexShapes } from './compile.js';
import type { GraphDNA } from './dna.js';
import { kernelOf, strideOf } from './dna.js';
import { escapeHtml } from '../../util/html.js';

const BOX_W = 230;
const BOX_H = 44;
const GAP = 56;
const TOP = 56;

const esc = escapeHtml;

export function renderDNA(dna: GraphDNA, io: IOSpec, title = ''): string {
  const shapes = vertexShapes(dna, io);
  const pos = new Map(dna.vertices.map((v, i) => [v.id, i]));
  const y = (i: number) => TOP + i * (BOX_H + GAP);
  // Short skips on the inner lanes, long ones outside: nested skips never cross.
  const skips = dna.edges.filter((e) => e.skip).sort((a, b) => pos.get(a.to)! - pos.get(a.from)! - (pos.get(b.to)! - pos.get(b.from)!));
  // Skips arc on the left; edge labels run to the right of the backbone.
  const LEFT = 24 + (skips.length ? 30 + skips.length * 22 : 0);
  // Backbone edges that jump (the branches of a fused graph) arc on the right, beyond the labels, solid.
  const jumps = dna.edges.filter((e) => !e.skip && pos.get(e.to)! !== pos.get(e.from)! + 1).sort((a, b) => pos.get(a.to)! - pos.get(a.from)! - (pos.get(b.to)! - pos.get(b.from)!));
  const RIGHT = LEFT + BOX_W + 250;
  const width = RIGHT + (jumps.length ? 30 + jumps.length * 22 : 0);
  const height = y(dna.vertices.length) + 24;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker>` +
      `<marker id="arrow-skip" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#c0392b"/></marker></defs>`,
    `<text x="24" y="24" font-size="14" font-weight="bold">${esc(title || 'DNA')}</text>`,
    `<text x="24" y="42" fill="#555">learning rate ${dna.learningRate.toPrecision(3)} · ${dna.edges.filter((e) => e.kind === 'conv').length} convolutions · ${skips.length} skips</text>`,
  );
  dna.vertices.forEach((v, i) => {
    const s = shapes.get(v.id)!;
    const role = i === 0 ? 'input' : i === dna.vertices.length - 1 ? 'output → global pool → dense' : v.activation === 'bn_relu' ? 'batch norm + ReLU' : 'linear';
    const fill = i === 0 || i === dna.vertices.length - 1 ? '#eef2f7' : v.activation === 'bn_relu' ? '#e8f5e9' : '#fafafa';
    parts.push(
      `<rect x="${LEFT}" y="${y(i)}" width="${BOX_W}" height="${BOX_H}" rx="6" fill="${fill}" stroke="#555"/>`,
      `<text x="${LEFT + 10}" y="${y(i) + 18}" font-weight="bold">${v.id}</text>`,
      `<text x="${LEFT + 48}" y="${y(i) + 18}">${esc(role)}</text>`,
      `<text x="${LEFT + 10}" y="${y(i) + 35}" fill="#555">${s.c} × ${s.h} × ${s.w}</text>`,
    );
  });
  const labelOf = (e: (typeof dna.edges)[number]) => (e.kind === 'conv' ? `${e.id}: conv ${kernelOf(e).join('×')}, stride ${strideOf(e)}, → ${shapes.get(e.to)!.c} ch` : `${e.id}: identity`);
  for (const e of dna.edges.filter((x) => !x.skip && !jumps.includes(x))) {
    const i = pos.get(e.from)!;
    const x = LEFT + BOX_W / 2;
    parts.push(
      `<line x1="${x}" y1="${y(i) + BOX_H}" x2="${x}" y2="${y(i + 1) - 2}" stroke="#444" stroke-width="${e.kind === 'conv' ? 2.5 : 1.2}" marker-end="url(#arrow)"/>`,
      `<text x="${x + 8}" y="${y(i) + BOX_H + GAP / 2 + 4}" fill="${e.kind === 'conv' ? '#1a5276' : '#777'}">${esc(labelOf(e))}</text>`,
    );
  }
  jumps.forEach((e, k) => {
    const a = y(pos.get(e.from)!) + BOX_H / 2;
    const b = y(pos.get(e.to)!) + BOX_H / 2;
    const x0 = LEFT + BOX_W;
    const xr = RIGHT + 10 + k * 22;
    parts.push(
      `<path d="M${x0},${a} C${xr},${a} ${xr},${b} ${x0 + 2},${b}" fill="none" stroke="#444" stroke-width="${e.kind === 'conv' ? 2.5 : 1.2}" marker-end="url(#arrow)"/>`,
      `<text x="${LEFT + BOX_W / 2 + 8}" y="${b - BOX_H / 2 - GAP / 2 + 4}" fill="${e.kind === 'conv' ? '#1a5276' : '#777'}">${esc(labelOf(e))} (from ${e.from})</text>`,
    );
  });
  skips.forEach((e, k) => {
    const a = y(pos.get(e.from)!) + BOX_H / 2;
    const b = y(pos.get(e.to)!) + BOX_H / 2;
    const x0 = LEFT;
    const xl = x0 - 30 - k * 22;
    parts.push(
      `<path d="M${x0},${a} C${xl},${a} ${xl},${b} ${x0 - 2},${b}" fill="none" stroke="#c0392b" stroke-width="1.4" stroke-dasharray="5,3" marker-end="url(#arrow-skip)"/>`,
      `<text x="${xl + 2}" y="${(a + b) / 2}" fill="#c0392b" font-size="10" text-anchor="middle" transform="rotate(-90 ${xl + 2} ${(a + b) / 2})" dy="-3">${e.id}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
