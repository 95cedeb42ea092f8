/**
 * The report's charts as Vega-Lite specifications, rendered headless to SVG
 * by Vega and rasterized to PNG by sharp (for pasting into papers).
 */
import sharp from 'sharp';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

export interface Rendered {
  svg: string;
  png: Buffer;
}

export async function render(spec: TopLevelSpec): Promise<Rendered> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = await sharp(Buffer.from(svg), { density: 144 }).png().toBuffer();
  return { svg, png };
}

/** Only the SVG (the live dashboard redraws often). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

const base = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 640, height: 320, background: 'white' } as const;

export interface Dot {
  id: string;
  hours: number;
  validation: number;
  state: 'alive' | 'dead';
  /** On the best individual's line of descent. */
  ancestor: boolean;
}

/** A moment marked on Figure 1 (a stagnation event and its remedy). */
export interface Marker {
  hours: number;
  label: string;
}

/** The x axis of time charts: wall time, or a table-driven run's simulated clock (SIMULATED_CLOCK). */
export const WALL_CLOCK = 'wall time (hours)';
export const SIMULATED_CLOCK = 'simulated time (hours)';

/** Real et al. 2017, Figure 1: every individual, wall time against validation accuracy; the best's ancestors joined; events as vertical rules. */
export function figure1Spec(dots: Dot[], title: string, markers: Marker[] = [], clock = WALL_CLOCK): TopLevelSpec {
  const rules = markers.length
    ? [
        {
          data: { values: markers },
          mark: { type: 'rule' as const, strokeDash: [4, 3], color: '#ff7f0e', strokeWidth: 1.5 },
          encoding: { x: { field: 'hours', type: 'quantitative' as const }, tooltip: [{ field: 'label' }] },
        },
        {
          data: { values: markers },
          mark: { type: 'text' as const, angle: 270, align: 'right' as const, baseline: 'bottom' as const, dx: -4, dy: -2, y: 0, fontSize: 10, color: '#ff7f0e' },
          encoding: { x: { field: 'hours', type: 'quantitative' as const }, text: { field: 'label' } },
        },
      ]
    : [];
  return {
    ...base,
    title,
    layer: [
      ...rules,
      {
        data: { values: dots.filter((d) => !d.ancestor) },
        mark: { type: 'point', filled: true, size: 18, opacity: 0.55 },
        encoding: {
          x: { field: 'hours', type: 'quantitative', title: clock },
          y: { field: 'validation', type: 'quantitative', title: 'validation accuracy', scale: { domain: [0, 1] } },
          color: {
            field: 'state',
            type: 'nominal',
            title: 'individual',
            legend: { labelLimit: 400 },
            scale: { domain: ['alive', 'dead', 'ancestor of the best'], range: ['#1f77b4', '#b0b0b0', '#d62728'] },
          },
          tooltip: [{ field: 'id' }, { field: 'validation', format: '.4f' }],
        },
      },
      {
        data: { values: dots.filter((d) => d.ancestor).map((d) => ({ ...d, state: 'ancestor of the best' })) },
        mark: { type: 'line', point: { filled: true, size: 40 }, strokeWidth: 1.5 },
        encoding: {
          x: { field: 'hours', type: 'quantitative' },
          y: { field: 'validation', type: 'quantitative' },
          color: { field: 'state', type: 'nominal' },
          tooltip: [{ field: 'id' }, { field: 'validation', format: '.4f' }],
        },
      },
    ],
  };
}

export interface CurvePoint {
  hours: number;
  accuracy: number;
  kind: 'test' | 'validation';
}

/** The best-so-far curve: test accuracy of the best-by-validation individual at each time, validation beside it. */
export function bestSoFarSpec(points: CurvePoint[], title: string, clock = WALL_CLOCK): TopLevelSpec {
  return {
    ...base,
    title,
    data: { values: points },
    mark: { type: 'line', interpolate: 'step-after', point: true },
    encoding: {
      x: { field: 'hours', type: 'quantitative', title: clock },
      y: { field: 'accuracy', type: 'quantitative', title: 'accuracy of the best so far', scale: { zero: false } },
      color: { field: 'kind', type: 'nominal', title: 'split', legend: { labelLimit: 400 }, scale: { domain: ['test', 'validation'], range: ['#d62728', '#1f77b4'] } },
    },
  };
}

/** Genetic CNN's per-generation statistics: max, mean and min, with the median. */
export function generationsSpec(rows: { generation: number; max: number; mean: number; median: number; min: number }[], title: string): TopLevelSpec {
  const values = rows.flatMap((r) => (['max', 'mean', 'median', 'min'] as const).map((k) => ({ generation: r.generation, statistic: k, accuracy: r[k] })));
  return {
    ...base,
    title,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'generation', type: 'quantitative', title: 'generation', axis: { tickMinStep: 1 } },
      y: { field: 'accuracy', type: 'quantitative', title: 'validation accuracy', scale: { zero: false } },
      color: { field: 'statistic', type: 'nominal', scale: { domain: ['max', 'mean', 'median', 'min'] } },
    },
  };
}

export interface BandPoint {
  group: string;
  hours: number;
  mean: number;
  lo: number;
  hi: number;
}

/** Several experiments' best-so-far test accuracy: mean line and min-max band per group (the paper's repeatability figure). */
export function compareSpec(points: BandPoint[], title: string, clock = WALL_CLOCK): TopLevelSpec {
  return {
    ...base,
    title,
    data: { values: points },
    encoding: {
      x: { field: 'hours', type: 'quantitative', title: clock },
      color: { field: 'group', type: 'nominal', title: 'experiment', legend: { labelLimit: 400 } },
    },
    layer: [
      {
        mark: { type: 'area', opacity: 0.2, interpolate: 'step-after' },
        encoding: { y: { field: 'lo', type: 'quantitative', title: 'test accuracy of the best so far', scale: { zero: false } }, y2: { field: 'hi' } },
      },
      { mark: { type: 'line', interpolate: 'step-after' }, encoding: { y: { field: 'mean', type: 'quantitative' } } },
    ],
  };
}

export interface FrontPoint {
  id: string;
  cost: number;
  validation: number;
  front: boolean;
}

/** Validation accuracy against one cost: every trained individual as a point, the Pareto front as a line through its members. */
export function paretoSpec(points: FrontPoint[], cost: string, title: string): TopLevelSpec {
  const costTitle = cost === 'flops' ? 'forward FLOPs per image (log)' : `${cost} (log)`;
  const x = { field: 'cost', type: 'quantitative' as const, title: costTitle, scale: { type: 'log' as const } };
  const y = { field: 'validation', type: 'quantitative' as const, title: 'validation accuracy', scale: { zero: false } };
  return {
    ...base,
    title,
    layer: [
      { data: { values: points.filter((p) => !p.front) }, mark: { type: 'point', color: '#9ecae1', opacity: 0.6 }, encoding: { x, y } },
      {
        data: { values: points.filter((p) => p.front).sort((a, b) => a.cost - b.cost) },
        mark: { type: 'line', interpolate: 'step-after', color: '#d62728', point: { color: '#d62728', size: 50 } },
        encoding: { x, y },
      },
    ],
  } as TopLevelSpec;
}
