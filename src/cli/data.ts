import { readManifest, SPLITS } from '../data/manifest.js';
import type { Manifest } from '../data/manifest.js';
import { downloadDataset, RELEASES } from '../data/download.js';
import { importDataset } from '../data/import.js';
import { CliError, intOption, parse, str } from './args.js';
import { Progress } from './progress.js';

const HELP = `usage: evonas data <import|download|info> ...

  evonas data import <source> --out <dir> [options]
      <source>: a folder or .tar/.tar.gz holding the CIFAR-10/100 binary
      release, MNIST-style IDX files, or images laid out <split>/<class>/<file>
      (JPEG, PNG, WebP; split = train, test, and optionally validation).
    --validation N   training images held out for validation (default 5000 when
                     train has 25000 or more, else 10%); stratified and seeded
    --seed N         seed of the validation hold-out (default 0)
    --coarse         CIFAR-100: the 20 coarse labels instead of the 100 fine ones
    --size N         images: resize every image to NxN (otherwise sizes must agree)
    --channels 1|3   images: force grayscale or RGB (otherwise counts must agree)
    --classes FILE   one class name per line, in label order
    --name NAME      the dataset's name in its manifest

  evonas data download <${Object.keys(RELEASES).join('|')}> --out <dir> [--mirror URL] [import options]
      Fetches the official release over HTTPS, checks its published MD5, imports it.

  evonas data info <dir> [--json]
      Counts per split and class, image shape, training-split channel statistics, checksum.`;

const IMPORT_OPTIONS = {
  out: { type: 'string' },
  validation: { type: 'string' },
  seed: { type: 'string' },
  coarse: { type: 'boolean' },
  size: { type: 'string' },
  channels: { type: 'string' },
  classes: { type: 'string' },
  name: { type: 'string' },
} as const;

function importOptions(p: NonNullable<ReturnType<typeof parse>>, progress: Progress) {
  const out = str(p, 'out');
  if (!out) throw new CliError(`--out <dir> is required\n\n${HELP}`);
  const channels = str(p, 'channels');
  if (channels !== undefined && channels !== '1' && channels !== '3') throw new CliError(`Expected 1 or 3 for --channels but received "${channels}"`);
  const validation = str(p, 'validation');
  const size = str(p, 'size');
  return {
    out,
    validation: validation === undefined ? undefined : intOption(validation, '--validation', 0, 1),
    seed: intOption(str(p, 'seed'), '--seed', 0, 0, 2 ** 32 - 1),
    coarse: p.values.coarse === true,
    size: size === undefined ? undefined : intOption(size, '--size', 0, 1, 4096),
    channels: channels === undefined ? undefined : (Number(channels) as 1 | 3),
    classesFile: str(p, 'classes'),
    name: str(p, 'name'),
    onProgress: ({ bytes, totalBytes }: { bytes: number; totalBytes: number }) =>
      progress.update(totalBytes ? `reading ${(bytes / 1e6).toFixed(1)}/${(totalBytes / 1e6).toFixed(1)} MB` : `reading ${(bytes / 1e6).toFixed(1)} MB`),
    onMessage: (m: string) => progress.log(m),
  };
}

function summary(dir: string, m: Manifest): string {
  const s = m.splits;
  return `${dir}: ${m.name}, ${m.classes.length} classes, ${m.shape.height}x${m.shape.width}x${m.shape.channels}; ` + `train ${s.train.count}, validation ${s.validation.count}, test ${s.test.count}`;
}

function info(dir: string, json: boolean): void {
  const m = readManifest(dir);
  if (json) {
    const perClass = (counts: number[]) => Object.fromEntries(m.classes.map((c, i) => [c, counts[i] ?? 0]));
    console.log(
      JSON.stringify(
        {
          name: m.name,
          classes: m.classes,
          shape: m.shape,
          splits: Object.fromEntries(SPLITS.map((sp) => [sp, { count: m.splits[sp].count, perClass: perClass(m.splits[sp].perClass) }])),
          validation: m.validation,
          trainStats: m.stats,
          source: m.source,
          createdAt: m.createdAt,
        },
        null,
        2,
      ),
    );
    return;
  }
  console.log(summary(dir, m));
  const width = Math.max(5, ...m.classes.map((c) => c.length));
  console.log(`\n${'class'.padEnd(width)}  ${SPLITS.map((sp) => sp.padStart(12)).join('')}`);
  m.classes.forEach((c, i) => {
    console.log(`${c.padEnd(width)}  ${SPLITS.map((sp) => String(m.splits[sp].perClass[i]).padStart(12)).join('')}`);
  });
  const fmt = (v: number[]) => v.map((x) => x.toFixed(4)).join(', ');
  console.log(`\ntrain mean  ${fmt(m.stats.mean)}\ntrain std   ${fmt(m.stats.std)}`);
  console.log(`validation  ${m.validation.source === 'held-out' ? `held out of train (stratified, seed ${m.validation.seed})` : 'given by the source'}`);
  console.log(`source      ${m.source.path} (${m.source.kind}), sha256 ${m.source.sha256}`);
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  if (sub === 'info') {
    const p = parse(rest, { json: { type: 'boolean' } }, HELP, true);
    if (!p) return 0;
    if (p.positionals.length !== 1) throw new CliError(`expected one dataset folder\n\n${HELP}`);
    info(p.positionals[0]!, p.values.json === true);
    return 0;
  }
  if (sub === 'import') {
    const p = parse(rest, IMPORT_OPTIONS, HELP, true);
    if (!p) return 0;
    if (p.positionals.length !== 1) throw new CliError(`expected one source\n\n${HELP}`);
    const progress = new Progress();
    const t0 = Date.now();
    const m = await importDataset(p.positionals[0]!, importOptions(p, progress)).finally(() => progress.done());
    const n = m.splits.train.count + m.splits.validation.count + m.splits.test.count;
    console.log(`${summary(str(p, 'out')!, m)} (${n} images in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return 0;
  }
  if (sub === 'download') {
    const p = parse(rest, { ...IMPORT_OPTIONS, mirror: { type: 'string' } }, HELP, true);
    if (!p) return 0;
    if (p.positionals.length !== 1) throw new CliError(`expected one of ${Object.keys(RELEASES).join(', ')}\n\n${HELP}`);
    const progress = new Progress();
    const m = await downloadDataset(p.positionals[0]!, {
      ...importOptions(p, progress),
      mirror: str(p, 'mirror'),
      onDownload: ({ file, bytes, totalBytes }) => progress.update(`downloading ${file} ${(bytes / 1e6).toFixed(1)}${totalBytes ? `/${(totalBytes / 1e6).toFixed(1)}` : ''} MB`),
    }).finally(() => progress.done());
    console.log(summary(str(p, 'out')!, m));
    return 0;
  }
  throw new CliError(`unknown subcommand "data ${sub}"\n\n${HELP}`);
}
