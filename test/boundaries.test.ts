// The search may never see the test split: no module under src/evolution or
// src/worker may reach src/data/test-split, directly or through other modules.
// This walks the real import graph of the source tree.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
    const spec = (m[1] ?? m[2])!;
    out.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  return out;
}

/** A path of imports from `from` to `target`, or undefined. */
function reach(from: string, target: string, seen = new Set<string>()): string[] | undefined {
  if (from === target) return [from];
  if (seen.has(from) || !existsSync(from)) return undefined;
  seen.add(from);
  for (const next of imports(from)) {
    const path = reach(next, target, seen);
    if (path) return [from, ...path];
  }
  return undefined;
}

describe('module boundaries', () => {
  const testSplit = join(src, 'data', 'test-split.ts');

  it('the import scanner finds a real path (so that the check below can fail)', () => {
    const path = reach(join(src, 'data', 'test-split.ts'), join(src, 'data', 'npy.ts'));
    assert.ok(path && path.length >= 2, 'test-split.ts reaches npy.ts through dataset.ts');
  });

  it('src/evolution and src/worker cannot reach the test split', () => {
    for (const file of [...files(join(src, 'evolution')), ...files(join(src, 'worker'))]) {
      const path = reach(file, testSplit);
      assert.equal(path, undefined, `${relative(src, file)} reaches the test split: ${path?.map((p) => relative(src, p)).join(' -> ')}`);
    }
  });

  it('the engine and the search spaces never import each other; nothing imports the cli', () => {
    const all = files(src);
    for (const file of all) {
      const rel = relative(src, file);
      for (const dep of imports(file).map((d) => relative(src, d))) {
        if (rel.startsWith('engine/')) assert.ok(!dep.startsWith('spaces/'), `${rel} imports ${dep}`);
        if (rel.startsWith('spaces/')) assert.ok(!dep.startsWith('engine/'), `${rel} imports ${dep}`);
        if (!rel.startsWith('cli/')) assert.ok(!dep.startsWith('cli/'), `${rel} imports ${dep}`);
      }
    }
  });

  it("a space's folder is its own: outside src/spaces/ the spaces are reached through the registry (spaces/index.ts) only", () => {
    let checked = 0;
    for (const file of files(src)) {
      const rel = relative(src, file);
      if (rel.startsWith('spaces/')) continue;
      for (const dep of imports(file).map((d) => relative(src, d))) {
        if (!dep.startsWith('spaces/')) continue;
        checked++;
        assert.ok(dep === join('spaces', 'index.ts'), `${rel} imports ${dep}, a space's own file`);
      }
    }
    assert.ok(checked > 10, 'the rule saw the registry imported');
  });

  it('rooms hold what they are named for: report/ makes reports and neither trains, runs workers nor runs experiments', () => {
    for (const file of files(join(src, 'report'))) {
      for (const dep of imports(file).map((d) => relative(src, d))) {
        assert.ok(!dep.startsWith('worker/') && !dep.startsWith('sweep/') && !dep.startsWith('train/'), `${relative(src, file)} imports ${dep}`);
        assert.ok(dep !== join('engine', 'fit.ts'), `${relative(src, file)} trains (imports ${dep})`);
      }
    }
  });

  it('the library covers the command: every value a command takes from the core is exported by src/index.ts', async () => {
    // Commands import the defining module directly, so that each loads only what it uses (evonas status does not load
    // the engine); the rule is that none uses anything a library caller could not.
    const library = new Set(Object.keys(await import('../src/index.js')));
    const missing: string[] = [];
    let checked = 0;
    for (const file of files(join(src, 'cli'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^import \{([^}]+)\} from '\.\.\/([^']+)';$/gm)) {
        if (m[2]!.startsWith('util/')) continue; // helpers: durations, files, random streams, schemas
        for (const name of m[1]!
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x && !x.startsWith('type '))) {
          checked++;
          if (!library.has(name.split(' as ')[0]!)) missing.push(`${name} (${relative(src, file)} from ${m[2]})`);
        }
      }
    }
    assert.ok(checked > 40, `saw only ${checked} imports`);
    assert.deepEqual(missing, [], 'not exported by src/index.ts');
  });

  it('no command imports another: shared flags and helpers live in helper modules, the work in the core', () => {
    const main = readFileSync(join(src, 'cli', 'main.ts'), 'utf8');
    const commands = new Set([...main.matchAll(/import\('\.\/([\w-]+)\.js'\)/g)].map((m) => join(src, 'cli', `${m[1]}.ts`)));
    assert.ok(commands.size >= 10, `found only ${commands.size} commands in main.ts`);
    for (const file of commands) {
      for (const dep of imports(file)) assert.ok(!commands.has(dep), `${relative(src, file)} imports the command ${relative(src, dep)}`);
    }
  });
});
