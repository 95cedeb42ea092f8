/** The report page: one self-contained HTML file (inline SVG and CSS, no script, no network). */
import type { ReportSummary } from './build.js';
import { escapeHtml } from '../util/html.js';

export const esc = escapeHtml;
const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${(100 * x).toFixed(2)}%`);
const big = (x: number) => (x >= 1e15 ? `${(x / 1e15).toFixed(2)} PFLOP` : x >= 1e12 ? `${(x / 1e12).toFixed(2)} TFLOP` : x >= 1e9 ? `${(x / 1e9).toFixed(2)} GFLOP` : `${(x / 1e6).toFixed(2)} MFLOP`);

export const STYLE = `body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;color:#222}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}th{background:#f4f4f4}
td.l,th.l{text-align:left}.kpi{display:flex;gap:16px;flex-wrap:wrap}.kpi div{background:#f6f8fa;border:1px solid #e1e4e8;padding:10px 14px;border-radius:6px}
.kpi b{display:block;font-size:20px}.diagrams{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
figure{margin:0;border:1px solid #eee;padding:6px}figcaption{font-size:12px}.diagrams figcaption{max-width:380px}pre{background:#f6f8fa;padding:10px;font-size:12px;overflow:auto}`;

export interface HtmlParts {
  charts: Record<string, string>;
  diagrams: { id: string; caption: string; svg: string }[];
  lineageLength: number;
  generationsTable?: string[];
}

export function reportHtml(s: ReportSummary, p: HtmlParts): string {
  const top = s.top
    .map(
      (t, i) =>
        `<tr><td>${i + 1}</td><td class="l">${esc(t.id)}${t.id === s.best.id ? ' (best)' : ''}</td><td>${pct(t.validationAccuracy)}</td><td>${pct(t.testAccuracy)}</td><td>${t.params.toLocaleString('en')}</td><td>${big(t.flops)}</td><td>${t.stepsTrained.toLocaleString('en')}</td><td>${t.ageHours.toFixed(2)} h</td><td class="l">${t.state}</td></tr>`,
    )
    .join('\n');
  const figure = (name: string, caption: string) => (p.charts[name] ? `<figure>${p.charts[name]}<figcaption>${caption} (<a href="${name}.png">PNG</a>)</figcaption></figure>` : '');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>evonas report: ${esc(s.experiment)}</title><style>${STYLE}</style></head>
<body>
<h1>evonas report</h1>
<p>${esc(s.experiment)} — ${esc(s.space)} space, ${esc(s.algorithm)}${s.inheritance ? '' : ' (no weight inheritance)'}; generated ${esc(s.generatedAt)}.
Every choice below is by validation accuracy; test accuracy is only reported.</p>
<div class="kpi">
<div>best by validation<b>${pct(s.best.validationAccuracy)}</b>${esc(s.best.id)}</div>
<div>its test accuracy<b>${pct(s.best.testAccuracy)}</b>${s.best.params.toLocaleString('en')} parameters, ${big(s.best.flops)} per image</div>
${
  s.ensemble
    ? `<div>top-${s.ensemble.k} ensemble (majority vote), test<b>${pct(s.ensemble.testAccuracy)}</b>ties go to the members' larger summed probability</div>`
    : `<div>best test accuracy in the table<b>${pct(s.table?.bestTest ?? null)}</b>${esc(s.table?.dataset ?? '')}, for scale</div>`
}
<div>individuals<b>${s.individuals.toLocaleString('en')}</b>${s.alive} alive, ${s.failed} failed</div>
<div>compute, Σ Ft·Nt + Fv·Nv<b>${big(s.totalFlops)}</b>${s.clock === 'simulated' ? 'simulated' : 'wall'} ${(s.wallSeconds / 3600).toFixed(2)} h, workers busy ${pct(s.workerUtilization)}</div>
</div>
<h2>Every individual</h2>
${figure('figure1', `${s.clock === 'simulated' ? 'Simulated time (each evaluation charged for the training the table recorded)' : 'Wall time'} against validation accuracy; the best individual’s ancestors are joined in red (Real et al. 2017, Figure 1)`)}
<h2>Best so far</h2>
${figure('best-so-far', 'At each time, the test accuracy of the individual with the highest validation accuracy born at or before it, with that validation accuracy beside it')}
${
  s.weightResets?.length
    ? `<h2>Weight resets</h2><p>${s.weightResets
        .map((r) => `At ${r.at.toFixed(0)} s every individual's weights were reset: ${r.retrained} retrained from scratch; children bred after it from pre-reset weights: ${r.bredFromStale}.`)
        .join('<br>')}</p>`
    : ''
}
${
  s.pareto
    ? `<h2>The Pareto front</h2><p>Validation accuracy against ${esc((s.objectives ?? []).slice(1).join(' and '))}: no member is beaten in every objective by any individual evaluated; each is tested once.</p>
${(s.objectives ?? [])
  .slice(1)
  .map((c) => figure(`pareto-${c}`, `Every individual (blue) and the front (red), against ${esc(c)}`))
  .join('\n')}
<table><tr><th class="l">id</th><th>validation</th><th>test</th>${(s.objectives ?? [])
        .slice(1)
        .map((c) => `<th>${esc(c)}</th>`)
        .join('')}</tr>
${s.pareto
  .map(
    (m) =>
      `<tr><td class="l">${esc(m.id)}</td><td>${pct(m.validationAccuracy)}</td><td>${pct(m.testAccuracy)}</td>${(s.objectives ?? [])
        .slice(1)
        .map((c) => `<td>${c === 'flops' ? big(m.flops ?? 0) : c === 'latency' ? `${(m.latency ?? 0).toFixed(2)} ms` : (m.parameters ?? 0).toLocaleString('en')}</td>`)
        .join('')}</tr>`,
  )
  .join('\n')}</table>`
    : ''
}
${p.generationsTable ? `<h2>Generations</h2>${figure('generations', 'Per-generation statistics (Xie &amp; Yuille 2017, Table 1)')}<pre>${esc(p.generationsTable.join('\n'))}</pre>` : ''}
<h2>The best and its ancestors</h2>
<p>${p.lineageLength} individuals on its line of descent; the last ${p.diagrams.length} shown, oldest first, each with the mutation that made it.</p>
<div class="diagrams">${p.diagrams.map((d) => `<figure>${d.svg}<figcaption>${esc(d.caption)}</figcaption></figure>`).join('\n')}</div>
<h2>Top individuals</h2>
<table><tr><th>#</th><th class="l">id</th><th>validation</th><th>test</th><th>parameters</th><th>FLOPs / image</th><th>steps trained</th><th>born at</th><th class="l">state</th></tr>
${top}</table>
<h2>Configuration</h2>
<pre>${esc(JSON.stringify(s.config, null, 2))}</pre>
</body></html>
`;
}
