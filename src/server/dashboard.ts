/**
 * The live dashboard: a read-only HTTP view of an experiment that updates
 * itself (the page polls; new individuals and deaths appear without a
 * reload). It binds 127.0.0.1 unless told otherwise, answers only GET and
 * HEAD on a fixed set of routes, and serves nothing from the filesystem but
 * what the store and the experiment's statistics say, so no path can escape
 * the experiment.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExperimentConfig } from '../evolution/config.js';
import type { IOSpec } from '../net/presets.js';
import type { GenerationStats } from '../evolution/generational.js';
import { figure1Spec, paretoSpec, renderSvg } from '../report/charts.js';
import { paretoFront } from '../evolution/pareto.js';
import type { Cost } from '../evolution/pareto.js';
import { lineage } from '../report/curves.js';
import { esc, STYLE } from '../report/html.js';
import { spaceOf } from '../spaces/index.js';
import { GenerationLedger } from '../store/index.js';
import type { PopulationStore } from '../store/index.js';
import type { ExperimentDocs } from '../store/docs.js';
import { openExperiment } from '../experiment/open.js';
import { readRun } from '../store/run-state.js';

export interface Dashboard {
  url: string;
  close(): Promise<void>;
}

const ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** What the dashboard reads, opened once. */
interface View {
  /** The folder, or the URL with its password redacted. */
  name: string;
  docs: ExperimentDocs;
  config: ExperimentConfig;
  io: IOSpec;
  store: PopulationStore;
  generations: GenerationLedger | undefined;
  /** Figure 1, kept until the population changes. */
  figure: { key: string; svg: string };
  /** The front against each cost, likewise. */
  fronts: Map<Cost, { key: string; svg: string }>;
}

/** The population now, and the JSON /api/state serves. */
async function state(v: View) {
  const all = await v.store.list();
  const trained = all.filter((i) => i.fitness !== null).sort((a, b) => b.fitness! - a.fitness! || (a.id < b.id ? -1 : 1));
  const run = await readRun(v.docs, v.name);
  return {
    all,
    trained,
    json: {
      experiment: v.name,
      space: v.config.space,
      algorithm: v.config.algorithm,
      startedAt: run.startedAt,
      deadline: run.deadline,
      individuals: all.length,
      alive: all.filter((i) => i.state === 'alive').length,
      dead: all.filter((i) => i.state === 'dead').length,
      best: trained[0] ? { id: trained[0].id, validationAccuracy: trained[0].fitness } : null,
      top: trained.slice(0, 10).map((i) => ({ id: i.id, validationAccuracy: i.fitness, stepsTrained: i.stepsTrained, state: i.state, bornAt: i.bornAt })),
      ...(v.config.objectives.length > 1
        ? {
            objectives: v.config.objectives,
            pareto: paretoFront(all, v.config).map((i) => ({ id: i.id, validationAccuracy: i.fitness, ...i.costs, state: i.state })),
          }
        : {}),
      ...(v.generations ? { generations: await v.generations.stats<GenerationStats>() } : {}),
    },
  };
}

/** Figure 1 as SVG, drawn again only when the population has changed. */
async function figure1(v: View): Promise<string> {
  const { all, trained } = await state(v);
  const key = `${all.length}/${all.filter((i) => i.state === 'alive').length}/${trained[0]?.id ?? ''}`;
  if (v.figure.key === key) return v.figure.svg;
  const start = Date.parse((await readRun(v.docs, v.name)).startedAt);
  const onLine = new Set(trained[0] ? lineage(new Map(all.map((i) => [i.id, i])), trained[0].id).map((i) => i.id) : []);
  const svg = await renderSvg(
    figure1Spec(
      trained.map((i) => ({ id: i.id, hours: (Date.parse(i.bornAt) - start) / 3_600_000, validation: i.fitness!, state: i.state, ancestor: onLine.has(i.id) })),
      `Every individual (${trained.length} trained)`,
    ),
  );
  v.figure = { key, svg };
  return svg;
}

/** Validation accuracy against `cost`: every individual, the front as a line; drawn again only when the population has changed. */
async function paretoFigure(v: View, cost: Cost): Promise<string> {
  const { all, trained } = await state(v);
  const key = `${cost}/${all.length}/${all.filter((i) => i.state === 'alive').length}`;
  const cached = v.fronts.get(cost);
  if (cached?.key === key) return cached.svg;
  const onFront = new Set(paretoFront(all, v.config).map((i) => i.id));
  const points = trained.filter((i) => i.costs?.[cost] !== undefined).map((i) => ({ id: i.id, cost: i.costs![cost]!, validation: i.fitness!, front: onFront.has(i.id) }));
  const svg = await renderSvg(paretoSpec(points, cost, `Validation accuracy against ${cost}: the front in red (${onFront.size})`));
  v.fronts.set(cost, { key, svg });
  return svg;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'",
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** GET and HEAD only: the page, the state, Figure 1 and an individual's diagram. */
async function handle(v: View, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, 'text/plain', 'read-only: GET and HEAD only\n');
  }
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/') return send(res, 200, 'text/html; charset=utf-8', page(v.name));
  if (path === '/api/state') return send(res, 200, 'application/json', JSON.stringify((await state(v)).json));
  if (path === '/api/figure1.svg') return send(res, 200, 'image/svg+xml', await figure1(v));
  const front = /^\/api\/pareto-(parameters|flops|latency)\.svg$/.exec(path);
  if (front && v.config.objectives.includes(front[1] as Cost)) return send(res, 200, 'image/svg+xml', await paretoFigure(v, front[1] as Cost));
  const d = /^\/api\/diagram\/([^/]+)\.svg$/.exec(path);
  if (d && ID.test(d[1]!)) {
    const i = await v.store.get(d[1]!);
    if (i) return send(res, 200, 'image/svg+xml', spaceOf(i.space).render(i.dna, v.io, i.id));
  }
  return send(res, 404, 'text/plain', 'not found\n');
}

/** Serves a live, read-only view of the experiment at `location`, a folder or a postgresql:// URL (127.0.0.1:8080 unless told otherwise). */
export async function startDashboard(location: string, o: { port?: number; host?: string; data?: string } = {}): Promise<Dashboard> {
  const x = await openExperiment(location, o.data ? { data: o.data } : {});
  const config = x.config;
  const v: View = {
    name: x.name,
    docs: x.home.docs,
    config,
    io: x.io,
    store: x.store,
    generations: spaceOf(config.space).breeding !== undefined ? new GenerationLedger(x.home.docs, x.home.leases) : undefined,
    figure: { key: '', svg: '' },
    fronts: new Map(),
  };
  const server = createServer((req, res) => {
    handle(v, req, res).catch((e: Error) => {
      if (!res.headersSent) send(res, 500, 'text/plain', `error: ${e.message}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8080, o.host ?? '127.0.0.1', () => resolve());
  }).catch(async (e) => {
    await x.close();
    throw e;
  });
  const a = server.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return {
    url: `http://${host}:${a.port}/`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }).then(() => x.close()),
  };
}

function page(dir: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>evonas dashboard</title><link rel="icon" href="data:,"><style>${STYLE}</style></head>
<body>
<h1>evonas dashboard</h1>
<p>${esc(dir)} — <span id="what"></span>; updates every 2 seconds. <span id="updated"></span></p>
<div class="kpi">
<div>individuals<b id="individuals">–</b></div>
<div>alive<b id="alive">–</b></div>
<div>dead<b id="dead">–</b></div>
<div>best validation<b id="best">–</b><span id="bestid"></span></div>
<div>time left<b id="left">–</b></div>
</div>
<h2>Every individual</h2>
<div id="figure1"></div>
<h2>Top individuals</h2>
<table id="top"><tr><th>#</th><th class="l">id</th><th>validation</th><th>steps trained</th><th class="l">state</th></tr></table>
<div id="pareto"></div>
<div id="generations"></div>
<script>
const $ = (id) => document.getElementById(id);
const escape = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
let lastKey = '';
async function refresh() {
  try {
    const s = await (await fetch('/api/state')).json();
    $('what').textContent = s.space + ' space, ' + s.algorithm;
    $('individuals').textContent = s.individuals;
    $('alive').textContent = s.alive;
    $('dead').textContent = s.dead;
    $('best').textContent = s.best ? (100 * s.best.validationAccuracy).toFixed(2) + '%' : '–';
    $('bestid').textContent = s.best ? s.best.id : '';
    $('left').textContent = Math.max(0, Math.round((Date.parse(s.deadline) - Date.now()) / 1000)) + ' s';
    $('updated').textContent = 'Last update ' + new Date().toLocaleTimeString() + '.';
    $('top').innerHTML = '<tr><th>#</th><th class="l">id</th><th>validation</th><th>steps trained</th><th class="l">state</th></tr>' +
      s.top.map((t, i) => '<tr><td>' + (i + 1) + '</td><td class="l"><a href="/api/diagram/' + escape(t.id) + '.svg">' + escape(t.id) + '</a></td><td>' + (100 * t.validationAccuracy).toFixed(2) + '%</td><td>' + t.stepsTrained + '</td><td class="l">' + t.state + '</td></tr>').join('');
    if (s.generations && s.generations.length) {
      $('generations').innerHTML = '<h2>Generations</h2><table><tr><th>generation</th><th>max</th><th>min</th><th>mean</th><th>median</th><th>std</th><th class="l">best individual</th></tr>' +
        s.generations.map((g) => '<tr><td>' + g.generation + '</td>' + [g.max, g.min, g.mean, g.median, g.std].map((v) => '<td>' + (100 * v).toFixed(2) + '</td>').join('') + '<td class="l">' + escape(g.best.bits) + '</td></tr>').join('') + '</table>';
    }
    const key = s.individuals + '/' + s.alive + '/' + (s.best ? s.best.id : '');
    if (key !== lastKey) {
      lastKey = key;
      $('figure1').innerHTML = await (await fetch('/api/figure1.svg')).text();
      if (s.pareto) {
        const costs = s.objectives.slice(1);
        const figures = await Promise.all(costs.map(async (c) => '<div class="front">' + (await (await fetch('/api/pareto-' + c + '.svg')).text()) + '</div>'));
        $('pareto').innerHTML = '<h2>The Pareto front</h2>' + figures.join('') + '<table id="front"><tr><th class="l">id</th><th>validation</th><th>parameters</th><th>MFLOPs</th><th class="l">state</th></tr>' +
          s.pareto.map((m) => '<tr><td class="l">' + escape(m.id) + '</td><td>' + (100 * m.validationAccuracy).toFixed(2) + '%</td><td>' + m.parameters + '</td><td>' + (m.flops / 1e6).toFixed(2) + '</td><td class="l">' + m.state + '</td></tr>').join('') + '</table>';
      }
    }
  } catch (e) {
    $('updated').textContent = 'Waiting for the server.';
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body></html>
`;
}
