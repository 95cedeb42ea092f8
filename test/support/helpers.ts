import type { NetIR, NetNode } from '../../src/net/ir.js';
import { createDataset } from '../../src/engine/dataset.js';
import { compile } from '../../src/engine/net.js';
import type { CompileOptions, Net } from '../../src/engine/net.js';
import type { EngineDataset } from '../../src/engine/dataset.js';

/** A small seeded generator for test data (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function netir(nodes: NetNode[], o: { c?: number; h?: number; w?: number; classes?: number } = {}): NetIR {
  return {
    format: 'evonas.netir',
    version: 1,
    input: { channels: o.c ?? 3, height: o.h ?? 8, width: o.w ?? 8 },
    classes: o.classes ?? 3,
    nodes,
  };
}

/** Random uint8 images with labels cycling through the classes. */
export function randomData(n: number, h: number, w: number, c: number, classes: number, seed = 1): EngineDataset {
  const r = rng(seed);
  const images = new Uint8Array(n * h * w * c);
  for (let i = 0; i < images.length; i++) images[i] = Math.floor(r() * 256);
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  return createDataset({ images, labels, height: h, width: w, channels: c });
}

/**
 * A separable task: class k has a bright square in quadrant k of a noisy
 * image; the square's position jitters so that a net must see shapes.
 */
export function quadrantData(n: number, size: number, seed = 7): { images: Uint8Array; labels: Int32Array } {
  const r = rng(seed);
  const images = new Uint8Array(n * size * size * 3);
  const labels = new Int32Array(n);
  const half = size / 2;
  for (let i = 0; i < n; i++) {
    const k = i % 4;
    labels[i] = k;
    const oy = (k >> 1) * half + Math.floor(r() * (half / 2));
    const ox = (k & 1) * half + Math.floor(r() * (half / 2));
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inside = y >= oy && y < oy + half / 2 && x >= ox && x < ox + half / 2;
        for (let c = 0; c < 3; c++) {
          images[((i * size + y) * size + x) * 3 + c] = inside ? 180 + Math.floor(r() * 60) : Math.floor(r() * 90);
        }
      }
    }
  }
  return { images, labels };
}

/** A conv net for the quadrant task. */
/** conv-BN-ReLU, then conv-BN + shortcut + ReLU (the fused residual path), pool, dense. */
export function residualNet(size: number, channels: number): NetIR {
  return netir(
    [
      { id: 'c1', op: 'conv2d', inputs: ['input'], channels, kernel: [3, 3] },
      { id: 'b1', op: 'batchnorm', inputs: ['c1'] },
      { id: 'r1', op: 'relu', inputs: ['b1'] },
      { id: 'c2', op: 'conv2d', inputs: ['r1'], channels, kernel: [3, 3] },
      { id: 'b2', op: 'batchnorm', inputs: ['c2'] },
      { id: 'a', op: 'add', inputs: ['b2', 'r1'] },
      { id: 'r2', op: 'relu', inputs: ['a'] },
      { id: 'g', op: 'globalavgpool', inputs: ['r2'] },
      { id: 'fc', op: 'dense', inputs: ['g'], units: 4 },
    ],
    { h: size, w: size, classes: 4 },
  );
}

export function smallConvNet(size: number): NetIR {
  return netir(
    [
      { id: 'c1', op: 'conv2d', inputs: ['input'], channels: 8, kernel: [3, 3] },
      { id: 'b1', op: 'batchnorm', inputs: ['c1'] },
      { id: 'r1', op: 'relu', inputs: ['b1'] },
      { id: 'p1', op: 'maxpool', inputs: ['r1'], kernel: [2, 2], stride: 2 },
      { id: 'c2', op: 'conv2d', inputs: ['p1'], channels: 16, kernel: [3, 3] },
      { id: 'b2', op: 'batchnorm', inputs: ['c2'] },
      { id: 'r2', op: 'relu', inputs: ['b2'] },
      { id: 'g', op: 'globalavgpool', inputs: ['r2'] },
      { id: 'fc', op: 'dense', inputs: ['g'], units: 4 },
    ],
    { h: size, w: size, classes: 4 },
  );
}

/** Compiles with the convolutions pinned to one path (EVONAS_CONV, read at compile time; native/conv.h). */
export function compileOnPath(path: 'auto' | 'library' | 'gemm', ir: NetIR, options: CompileOptions = {}): Net {
  const before = process.env.EVONAS_CONV;
  process.env.EVONAS_CONV = path;
  try {
    return compile(ir, options);
  } finally {
    if (before === undefined) delete process.env.EVONAS_CONV;
    else process.env.EVONAS_CONV = before;
  }
}
