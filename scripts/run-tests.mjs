#!/usr/bin/env node
// npm test's runner (after lint and build): one PostgreSQL server for the
// whole run, shared by the test files through EVONAS_TEST_PG (each gets a
// database of its own; see test/support/postgres.ts), then node --test over
// the compiled tests, two files at a time, then the server stopped, also when
// the run is interrupted. Arguments replace the default list of test files.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const { postgresBin, startPostgres } = await import(join(root, 'dist', 'test', 'support', 'postgres.js'));

const files =
  process.argv.length > 2
    ? process.argv.slice(2)
    : readdirSync(join(root, 'dist', 'test'))
        .filter((f) => f.endsWith('.test.js'))
        .map((f) => join('dist', 'test', f));
const pg = postgresBin() ? await startPostgres({ own: true }) : undefined;
if (pg) console.log(`# one PostgreSQL server for the run on 127.0.0.1:${pg.port}`);
let stopped = false;
const stop = () => {
  if (stopped || !pg) return;
  stopped = true;
  pg.stop();
};
const child = spawn(process.execPath, ['--test', '--test-concurrency=2', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, ...(pg ? { EVONAS_TEST_PG: pg.shared } : {}) },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  stop();
  process.exit(code ?? (signal ? 1 : 0));
});
