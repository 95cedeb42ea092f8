/**
 * An SVG drawing of a stages DNA as the paper's Figure 1: one row per stage,
 * the default input node, the kept ordinary nodes and the default output
 * node left to right, each connection an arc; isolated nodes greyed out.
 */
import { activeNodes } from './compile.js';
import { connections, formatBits } from './dna.js';
import type { StagesDNA } from './dna.js';
import { escapeHtml } from '../../util/html.js';

const esc = escapeHtml;

export function renderStages(dna: StagesDNA, title = ''): string {
  const R = 15;
  const DX = 62;
  const ROW = 120;
  const maxK = Math.max(...dna.nodes);
  const width = 90 + (maxK + 2) * DX;
  const height = 60 + dna.nodes.length * ROW;
  const parts: string[] = [];
  dna.nodes.forEach((k, s) => {
    const links = connections(dna.bits[s]!);
    const active = new Set(activeNodes(k, links));
    const cy = 70 + s * ROW;
    const x = (j: number) => 70 + j * DX; // 0: input node, k+1: output node
    parts.push(`<text x="8" y="${cy - 38}" font-size="12" font-weight="bold">stage ${s + 1}: ${esc(formatBits({ bits: [dna.bits[s]!] }) || '(one node)')}</text>`);
    const arc = (a: number, b: number, dashed: boolean) => {
      const h = Math.min(34, 10 + 8 * (b - a));
      const [x1, x2] = [x(a) + R, x(b) - R];
      parts.push(
        `<path d="M${x1},${cy} C${x1 + 10},${cy - h} ${x2 - 10},${cy - h} ${x2},${cy}" fill="none" stroke="${dashed ? '#999' : '#333'}" ${dashed ? 'stroke-dasharray="3,3"' : ''} marker-end="url(#arrow)"/>`,
      );
    };
    if (links.length === 0) {
      parts.push(`<circle cx="${x(0)}" cy="${cy}" r="${R}" fill="#fde2b5" stroke="#333"/><text x="${x(0)}" y="${cy + 4}" font-size="10" text-anchor="middle">conv</text>`);
      return;
    }
    for (const [a, b] of links) arc(a, b, false);
    for (const j of active) {
      if (!links.some(([, to]) => to === j)) arc(0, j, true);
      if (!links.some(([from]) => from === j)) arc(j, k + 1, true);
    }
    for (let j = 0; j <= k + 1; j++) {
      const fill = j === 0 ? '#f6c9c9' : j === k + 1 ? '#c9ecc9' : active.has(j) ? '#d6e6f7' : '#eeeeee';
      const label = j === 0 ? 'in' : j === k + 1 ? 'out' : String(j);
      parts.push(
        `<circle cx="${x(j)}" cy="${cy}" r="${R}" fill="${fill}" stroke="${active.has(j) || j === 0 || j === k + 1 ? '#333' : '#bbb'}"/><text x="${x(j)}" y="${cy + 4}" font-size="11" text-anchor="middle" fill="${active.has(j) || j === 0 || j === k + 1 ? '#000' : '#aaa'}">${label}</text>`,
      );
    }
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, sans-serif">` +
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>` +
    `<rect width="${width}" height="${height}" fill="white"/>` +
    (title ? `<text x="8" y="18" font-size="13">${esc(title)}</text>` : '') +
    parts.join('') +
    `</svg>`
  );
}
