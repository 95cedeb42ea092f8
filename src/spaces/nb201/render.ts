/** A NAS-Bench-201 cell drawn as SVG: its four nodes in a row and its six edges, each labelled with its op. */
import { escapeHtml } from '../../util/html.js';
import { EDGES } from './cell.js';
import type { Nb201Op } from './cell.js';

const COLOURS: Record<Nb201Op, string> = { none: '#bbb', skip_connect: '#555', nor_conv_1x1: '#2a7ab9', nor_conv_3x3: '#c2452d', avg_pool_3x3: '#3a9a4a' };

export function renderNb201(ops: readonly Nb201Op[], title: string): string {
  const x = (n: number) => 60 + n * 150;
  const y = 150;
  const edges = EDGES.map(([from, to], k) => {
    const op = ops[k]!;
    const span = to - from;
    const lift = 40 * span; // longer edges arc higher, so labels do not overlap
    const mx = (x(from) + x(to)) / 2;
    const path = `M ${x(from)} ${y} Q ${mx} ${y - 2 * lift} ${x(to)} ${y}`;
    const dash = op === 'none' ? ' stroke-dasharray="4 4"' : '';
    return `<path d="${path}" fill="none" stroke="${COLOURS[op]}" stroke-width="2"${dash} marker-end="url(#arrow)"/><text x="${mx}" y="${y - lift - 4}" text-anchor="middle" font-size="12" fill="${COLOURS[op]}">${op}</text>`;
  });
  const nodes = [0, 1, 2, 3].map((n) => `<circle cx="${x(n)}" cy="${y}" r="16" fill="#fff" stroke="#333"/><text x="${x(n)}" y="${y + 5}" text-anchor="middle" font-size="13">${n}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="580" height="200" viewBox="0 0 580 200" font-family="sans-serif">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="24" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#333"/></marker></defs>
<text x="10" y="20" font-size="14">${escapeHtml(title)}</text>
${edges.join('\n')}
${nodes.join('\n')}
</svg>
`;
}
