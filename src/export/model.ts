/**
 * Export as a library call (evonas export is this plus printing): choose an
 * experiment's individual (the best by validation, one by id, or the top K as
 * an ensemble) and write it as ONNX or safetensors for use outside evonas.
 */
import { decodeSafetensors, encodeSafetensors } from '../engine/safetensors.js';
import { openExperiment, rankByValidation } from '../experiment/open.js';
import type { Experiment } from '../experiment/open.js';
import { compileIndividual } from '../spaces/index.js';
import type { Individual } from '../store/index.js';
import { EvonasError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { exportOnnx } from './onnx.js';
import type { OnnxMember } from './onnx.js';

export interface ExportOptions {
  format: 'onnx' | 'safetensors';
  /** The file to write (atomically: a crash leaves the old file or none). */
  out: string;
  /** An individual's id, or 'best' (the default): the best by validation accuracy. */
  id?: string;
  /** The top K by validation as one ONNX graph (ONNX only; leave out id). */
  ensemble?: number;
  /** How an ensemble combines its members: majority vote (ties to the lowest class) or averaged probabilities. */
  combine?: 'vote' | 'average';
  /** The dataset's path here, when not the one the experiment records (its classes and statistics go into the file). */
  data?: string;
}

export interface ExportResult {
  out: string;
  /** The individuals written, in rank order. */
  individuals: Individual[];
  bytes: number;
}

/** The individuals an export writes. @throws {EvonasError} ERR_INPUT naming what is missing. */
export async function chooseForExport(x: Experiment, o: Pick<ExportOptions, 'id' | 'ensemble'>): Promise<Individual[]> {
  const all = await x.store.list();
  const ranked = rankByValidation(all, { constraints: x.config.constraints });
  if (o.ensemble !== undefined) {
    if (o.id !== undefined) throw new EvonasError('ERR_INPUT', 'an ensemble takes the top K by validation; leave out the id', ['id']);
    if (!(Number.isInteger(o.ensemble) && o.ensemble >= 1)) throw new EvonasError('ERR_INPUT', `ensemble: expected a whole number >= 1 but found ${o.ensemble}`, ['ensemble']);
    if (ranked.length < o.ensemble) throw new EvonasError('ERR_INPUT', `the experiment has ${ranked.length} trained individuals with weights, fewer than an ensemble of ${o.ensemble}`, ['ensemble']);
    return ranked.slice(0, o.ensemble);
  }
  const id = o.id ?? 'best';
  if (id === 'best') {
    if (!ranked[0]) throw new EvonasError('ERR_INPUT', `${x.name}: no trained individual with weights yet`, ['id']);
    return [ranked[0]];
  }
  const i = all.find((r) => r.id === id);
  if (!i) throw new EvonasError('ERR_INPUT', `${x.name}: no individual "${id}"`, ['id']);
  if (!i.hasWeights) throw new EvonasError('ERR_INPUT', `individual ${id} has no weights (${i.failure ? `training failed: ${i.failure}` : 'collected after its death, or never trained'})`, ['id']);
  return [i];
}

async function member(x: Experiment, i: Individual): Promise<OnnxMember> {
  return { ir: compileIndividual(i.space, i.dna, x.io, x.config), weights: decodeSafetensors(await x.store.readWeights(i.id), `weights of ${i.id}`).tensors };
}

/**
 * Writes an experiment's individual (or ensemble) to `o.out`.
 * @throws {EvonasError} ERR_INPUT naming the option or individual at fault; nothing is written then.
 */
export async function exportModel(location: string, o: ExportOptions): Promise<ExportResult> {
  if (o.format !== 'onnx' && o.format !== 'safetensors') throw new EvonasError('ERR_INPUT', `format: expected onnx or safetensors but found ${JSON.stringify(o.format)}`, ['format']);
  if (o.ensemble !== undefined && o.format !== 'onnx') throw new EvonasError('ERR_INPUT', 'an ensemble exports as ONNX only', ['format']);
  const combine = o.combine ?? 'vote';
  if (combine !== 'vote' && combine !== 'average') throw new EvonasError('ERR_INPUT', `combine: expected vote or average but found ${JSON.stringify(combine)}`, ['combine']);
  const x = await openExperiment(location, { weights: 'export', ...(o.data ? { data: o.data } : {}) });
  try {
    return await exportFrom(x, o, combine);
  } finally {
    await x.close();
  }
}

async function exportFrom(x: Experiment, o: ExportOptions, combine: 'vote' | 'average'): Promise<ExportResult> {
  const chosen = await chooseForExport(x, o);
  const members = await Promise.all(chosen.map((i) => member(x, i)));
  const provenance = { experiment: x.name, individuals: JSON.stringify(chosen.map((i) => ({ id: i.id, validationAccuracy: i.fitness }))) };
  let bytes: Uint8Array[];
  if (o.format === 'onnx') {
    bytes = [
      exportOnnx(members, {
        stats: x.stats,
        classes: x.classes,
        combine,
        metadata: {
          ...provenance,
          'input.shape': JSON.stringify([x.io.channels, x.io.height, x.io.width]),
          ...(chosen.length === 1 ? { dna: JSON.stringify(chosen[0]!.dna), space: chosen[0]!.space } : { combine }),
        },
        docString: `evonas ${chosen.length === 1 ? `individual ${chosen[0]!.id}` : `ensemble of ${chosen.length}`} from ${x.name}`,
      }),
    ];
  } else {
    const i = chosen[0]!;
    bytes = encodeSafetensors(members[0]!.weights, {
      ...provenance,
      space: i.space,
      dna: JSON.stringify(i.dna),
      netir: JSON.stringify(members[0]!.ir),
      classes: JSON.stringify(x.classes),
      mean: JSON.stringify(x.stats.mean),
      std: JSON.stringify(x.stats.std),
    });
  }
  writeFileAtomic(o.out, bytes);
  return { out: o.out, individuals: chosen, bytes: bytes.reduce((n, b) => n + b.length, 0) };
}
